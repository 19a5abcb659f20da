/**
 * Attaches an artifact (an image's SBOM) to an image in a registry, as OCI distribution 1.1 says: an
 * image manifest whose `subject` is the image, found through the registry's referrers API, or, for a
 * registry without it, through the fallback tag `sha256-<hex of the image's digest>`, an index of
 * the referrers that the pusher keeps up to date.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  credentialsFor,
  digestOf,
  normaliseRegistryHost,
  parseDockerConfig,
  RegistryPusher,
} from "@volpop/oci";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
/** OCI 1.1's empty descriptor: the config of an artifact that has none. */
const EMPTY_CONFIG = {
  mediaType: "application/vnd.oci.empty.v1+json",
  digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
  size: 2,
} as const;

/** A descriptor as manifests and indexes list them. */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** The artifact manifest for `blob` (one file of `artifactType`) about `subject`, as bytes and digest. */
export function artifactManifest(
  subject: Descriptor,
  artifactType: string,
  blob: { readonly bytes: Uint8Array; readonly title: string },
): { readonly bytes: Uint8Array; readonly descriptor: Descriptor } {
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType,
    config: EMPTY_CONFIG,
    layers: [
      {
        mediaType: artifactType,
        digest: digestOf(blob.bytes),
        size: blob.bytes.byteLength,
        annotations: { "org.opencontainers.image.title": blob.title },
      },
    ],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  return {
    bytes,
    descriptor: { mediaType: OCI_MANIFEST, digest: digestOf(bytes), size: bytes.byteLength, artifactType },
  };
}

/** The OCI 1.1 fallback tag listing `digest`'s referrers: `sha256:ab…` → `sha256-ab…`. */
export function referrersTag(digest: string): string {
  return digest.replace(":", "-");
}

/** `index` (or a new one) with `descriptor` added, unless it lists that digest already. */
export function withReferrer(
  index: { manifests?: Descriptor[] } | undefined,
  descriptor: Descriptor,
): object {
  const manifests = index?.manifests ?? [];
  return {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: manifests.some((m) => m.digest === descriptor.digest) ? manifests : [...manifests, descriptor],
  };
}

/** How {@link attachArtifact} made the artifact findable. */
export interface AttachedArtifact {
  readonly digest: string;
  /** `referrers-api`: the registry indexes it; `fallback-tag`: listed in the index under {@link referrersTag}. */
  readonly via: "referrers-api" | "fallback-tag";
}

/** What to attach, and where. */
export interface AttachOptions {
  /** `host[:port]`, e.g. `registry.example.com` or `127.0.0.1:5000`. */
  readonly registry: string;
  /** e.g. `acme/volpop/validator` */
  readonly repository: string;
  /** The image's manifest digest (what `buildah push --digestfile` wrote). */
  readonly subjectDigest: string;
  readonly artifactType: string;
  /** The file, and the title it is listed under. */
  readonly blob: { readonly bytes: Uint8Array; readonly title: string };
  /** Speak plain HTTP (the default for localhost and 127.0.0.1, as {@link pushImage} does). */
  readonly insecure?: boolean;
}

/**
 * Pushes the artifact with the image as its subject, with credentials from the same files buildah
 * reads ({@link registryCredentials}); keeps the fallback tag's index when the registry does not say
 * it serves the referrers API.
 */
export async function attachArtifact(options: AttachOptions): Promise<AttachedArtifact> {
  const { registry, repository } = options;
  const pusher = new RegistryPusher({
    registry,
    insecure: options.insecure ?? isLoopback(registry),
    ...withCredentials(registryCredentials(registry)),
  });
  try {
    const subject = await pusher.getManifest(repository, options.subjectDigest, [
      OCI_MANIFEST,
      DOCKER_MANIFEST,
      OCI_INDEX,
    ]);
    if (subject === undefined)
      throw new Error(`${registry}/${repository}@${options.subjectDigest}: no such manifest`);
    const artifact = artifactManifest(
      { mediaType: subject.mediaType, digest: options.subjectDigest, size: subject.bytes.byteLength },
      options.artifactType,
      options.blob,
    );
    await pusher.pushBlob(repository, EMPTY_CONFIG.digest, Buffer.from("{}"));
    await pusher.pushBlob(repository, digestOf(options.blob.bytes), options.blob.bytes);
    const indexed = await pusher.pushReferrer(
      repository,
      artifact.descriptor.digest,
      OCI_MANIFEST,
      artifact.bytes,
    );
    if (indexed) return { digest: artifact.descriptor.digest, via: "referrers-api" };
    const tag = referrersTag(options.subjectDigest);
    const existing = await pusher.getManifest(repository, tag, [OCI_INDEX]);
    const index = withReferrer(
      existing === undefined
        ? undefined
        : (JSON.parse(Buffer.from(existing.bytes).toString("utf8")) as { manifests?: Descriptor[] }),
      artifact.descriptor,
    );
    await pusher.pushManifest(repository, tag, OCI_INDEX, Buffer.from(JSON.stringify(index)));
    return { digest: artifact.descriptor.digest, via: "fallback-tag" };
  } finally {
    pusher.close();
  }
}

export function isLoopback(registry: string): boolean {
  return /^(localhost|127\.0\.0\.1)(:\d+)?$/.test(registry);
}

function withCredentials(credentials: ReturnType<typeof registryCredentials>) {
  return credentials === undefined ? {} : { credentials };
}

/**
 * The credentials for `registry` from the first auth file there is, in the order buildah and podman
 * read them: `$REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`, then Docker's
 * `$DOCKER_CONFIG/config.json` (`~/.docker/config.json`). Credential helpers are not asked.
 */
export function registryCredentials(registry: string, env: NodeJS.ProcessEnv = process.env) {
  const files = [
    env.REGISTRY_AUTH_FILE,
    env.XDG_RUNTIME_DIR && path.join(env.XDG_RUNTIME_DIR, "containers", "auth.json"),
    path.join(env.DOCKER_CONFIG ?? path.join(os.homedir(), ".docker"), "config.json"),
  ];
  for (const file of files) {
    if (!file || !fs.existsSync(file)) continue;
    const found = credentialsFor(
      parseDockerConfig(fs.readFileSync(file, "utf8")),
      normaliseRegistryHost(registry),
    );
    if (found !== undefined) return found;
  }
  return undefined;
}
