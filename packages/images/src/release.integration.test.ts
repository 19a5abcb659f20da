import { describe, expect, it } from "vitest";
import { buildah } from "./buildah.ts";
import { helloBuiltTwice } from "./internal/built-twice.ts";
import { referrersTag } from "./referrers.ts";

// The release path end to end, for one image (hello, the smallest): built twice from nothing, each in
// a storage of its own (so nothing is cached and nobody else's images are touched), pushed to a
// throwaway registry. Same commit, same digests; the SBOM is attached; the labels are there.
describe("a release of one image, built twice from nothing", () => {
  const {
    storages,
    builds,
    pushes,
    registry: registryOf,
  } = helloBuiltTwice("release", { source: "https://example.invalid/volpop" });

  it("gives the same image digest both times, and the same SBOM", () => {
    const [first, second] = pushes.map((p) => p[0]);
    expect(first?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(first?.isIndex).toBe(false);
    expect(second?.digest).toBe(first?.digest);
    expect(builds[1]?.[0]?.platforms[0]?.sbom).toBe(builds[0]?.[0]?.platforms[0]?.sbom);
    expect(second?.platforms[0]?.sbom.digest).toBe(first?.platforms[0]?.sbom.digest);
  });

  it("labels the image with its source, revision and version", async () => {
    const { stdout } = await buildah(
      ["inspect", "--type", "image", "volpop/populator-hello:1.2.3"],
      storages[0],
    );
    const inspected = JSON.parse(stdout) as { OCIv1: { config: { Labels: Record<string, string> } } };
    expect(inspected.OCIv1.config.Labels).toMatchObject({
      "org.opencontainers.image.source": "https://example.invalid/volpop",
      "org.opencontainers.image.revision": "0123456789abcdef0123456789abcdef01234567",
      "org.opencontainers.image.version": "1.2.3",
      "org.opencontainers.image.title": "volpop hello populator",
    });
  });

  it("attaches the SBOM as a referrer, listed under the fallback tag on a registry without the referrers API", async () => {
    const pushed = pushes[0]?.[0]?.platforms[0];
    if (pushed === undefined) throw new Error("nothing pushed");
    expect(pushed.sbom.via).toBe("fallback-tag");
    const repository = `${registryOf().url}/v2/build-0/volpop/populator-hello`;
    const accept = {
      accept: "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json",
    };
    const index = (await (
      await fetch(`${repository}/manifests/${referrersTag(pushed.digest)}`, { headers: accept })
    ).json()) as {
      manifests: Array<{ digest: string; artifactType: string }>;
    };
    expect(index.manifests).toEqual([
      expect.objectContaining({ digest: pushed.sbom.digest, artifactType: "application/vnd.cyclonedx+json" }),
    ]);
    const artifact = (await (
      await fetch(`${repository}/manifests/${pushed.sbom.digest}`, { headers: accept })
    ).json()) as {
      subject: { digest: string };
      layers: Array<{ digest: string }>;
    };
    expect(artifact.subject.digest).toBe(pushed.digest);
    const sbom = (await (await fetch(`${repository}/blobs/${artifact.layers[0]?.digest}`)).json()) as {
      components: Array<{ name: string; version: string; purl: string }>;
    };
    const names = sbom.components.map((c) => c.name);
    // npm packages from the bundle, the workspace packages bundled from source, node, Debian's libraries.
    expect(names).toEqual(
      expect.arrayContaining([
        "pino",
        "@kubernetes/client-node",
        "@volpop/sdk",
        "node",
        "libc6",
        "libstdc++6",
        "ca-certificates",
      ]),
    );
  });
});
