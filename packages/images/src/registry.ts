/** Copying images from buildah's storage into registries, and asking registries about them. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type BuildahStorage, buildah, manifestLayerBytes } from "./buildah.ts";
import { productImage } from "./catalog.ts";
import { buildPackageImage, imageRepository, type PackageImageSpec } from "./package-image.ts";

/** Splits `host[:port]/repo/name:tag` (or `@digest`) into what the registry API needs. */
export function parseReference(reference: string): { registry: string; repository: string; ref: string } {
  const slash = reference.indexOf("/");
  const registry = slash > 0 ? reference.slice(0, slash) : "";
  if (!/[.:]|^localhost$/.test(registry))
    throw new Error(`${reference}: name a registry host first (e.g. localhost:5000/…)`);
  const rest = reference.slice(slash + 1);
  const at = rest.indexOf("@");
  if (at >= 0) return { registry, repository: rest.slice(0, at), ref: rest.slice(at + 1) };
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/"))
    return { registry, repository: rest.slice(0, colon), ref: rest.slice(colon + 1) };
  return { registry, repository: rest, ref: "latest" };
}

/** Where {@link pushImage} put an image. */
export interface PushedImage {
  /** e.g. `localhost:5000/volpop/validator:0.0.0` */
  readonly reference: string;
  /** The manifest digest, `sha256:…`; pods may pin `<repository>@<digest>`. */
  readonly digest: string;
}

/**
 * Copies `local` (a name in buildah's storage, e.g. `volpop/validator:0.0.0`) to `remote` (e.g.
 * `localhost:5000/volpop/validator:0.0.0`), layers gzip-compressed. TLS is verified except for a
 * registry on localhost/127.0.0.1 (the cluster's, which is plain HTTP). Cheap when the registry has
 * the blobs already (the base layer is shared by every product image).
 */
export async function pushImage(
  local: string,
  remote: string,
  options: { readonly storage?: BuildahStorage; readonly authFile?: string } = {},
): Promise<PushedImage> {
  const digest = await buildahPush(["push"], local, remote, options.storage, options.authFile);
  return { reference: remote, digest };
}

/**
 * `buildah <command> --digestfile … <local> docker://<remote>` (`push`, or `manifest push --all …`),
 * TLS verified except for a registry on localhost/127.0.0.1; answers the digest pushed.
 */
export async function buildahPush(
  command: readonly string[],
  local: string,
  remote: string,
  storage: BuildahStorage | undefined,
  authFile?: string,
): Promise<string> {
  const { registry } = parseReference(remote);
  const insecure = /^(localhost|127\.0\.0\.1)(:\d+)?$/.test(registry);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "volpop-push-"));
  try {
    const digestFile = path.join(dir, "digest");
    await buildah(
      [
        ...command,
        "--quiet",
        `--tls-verify=${!insecure}`,
        "--digestfile",
        digestFile,
        ...(authFile === undefined ? [] : ["--authfile", authFile]),
        local,
        `docker://${remote}`,
      ],
      storage,
    );
    return fs.readFileSync(digestFile, "utf8").trim();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * What pulling `reference` transfers: the sum of its compressed layers as its manifest in the registry
 * lists them. For a plain-HTTP registry without auth, like the cluster's at localhost:5000.
 */
export async function registryImageBytes(reference: string): Promise<number> {
  const { registry, repository, ref } = parseReference(reference);
  const response = await fetch(`http://${registry}/v2/${repository}/manifests/${ref}`, {
    headers: {
      accept:
        "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
    },
  });
  if (!response.ok)
    throw new Error(`${reference}: registry answered ${response.status} ${response.statusText}`);
  return manifestLayerBytes(await response.text());
}

/**
 * Builds a package's image, pushes it to `registry` (where the cluster pulls from) and returns the
 * reference pinned by digest, so a rebuilt image under the same tag is what pods actually run.
 */
export async function publishPackageImage(spec: PackageImageSpec, registry: string): Promise<string> {
  const built = await buildPackageImage(spec);
  const pushed = await pushImage(
    built.image,
    `${registry}/${built.image}`,
    spec.storage ? { storage: spec.storage } : {},
  );
  return `${registry}/${imageRepository(spec)}@${pushed.digest}`;
}

/** {@link publishPackageImage} of the product image called `name` (see {@link productImages}). */
export function publishProductImage(name: string, registry: string): Promise<string> {
  return publishPackageImage(productImage(name), registry);
}
