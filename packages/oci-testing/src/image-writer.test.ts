import { digestOf, MediaType, RegistryClient } from "@volpop/oci";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeImage } from "./image-writer.ts";
import { type LocalRegistry, startLocalRegistry } from "./local-registry.ts";
import { randomImage } from "./random-image.ts";

describe("writeImage", () => {
  let registry: LocalRegistry;
  let client: RegistryClient;
  beforeAll(async () => {
    registry = await startLocalRegistry();
    client = new RegistryClient({ ...registry.clientOptions });
  });
  afterAll(async () => {
    client.close();
    await registry.stop();
  });

  it("writes the same digests for the same spec, and pushes again without failing on existing blobs", async () => {
    const spec = {
      repository: "again",
      layers: [{ entries: [{ type: "file" as const, path: "a", content: "a" }] }],
    };
    const first = await writeImage(registry.pushTarget, spec);
    const second = await writeImage(registry.pushTarget, { ...spec, tag: "second" });
    expect(second.digest).toBe(first.digest);
  });

  it("writes a config whose diff_ids and platform match what was pushed", async () => {
    const written = await writeImage(registry.pushTarget, {
      repository: "configured",
      platform: { os: "linux", architecture: "arm", variant: "v7" },
      config: { Env: ["A=1"], Cmd: ["/bin/true"] },
      annotations: { "org.opencontainers.image.title": "t" },
      layers: [{ entries: [] }, { entries: [{ type: "dir", path: "d" }], compression: "zstd" }],
    });
    const image = await client.resolve(written.reference);
    const config = await image.readConfig();
    expect(config).toMatchObject({
      os: "linux",
      architecture: "arm",
      variant: "v7",
      config: { Env: ["A=1"], Cmd: ["/bin/true"] },
    });
    expect(config.rootfs.diff_ids).toEqual(written.manifests[0]?.layers.map((l) => l.diffId));
    expect(image.manifest.annotations).toEqual({ "org.opencontainers.image.title": "t" });
    expect(image.manifest.config.mediaType).toBe(MediaType.OciConfig);
  });

  it("uses a layer's raw tar bytes as they are", async () => {
    const raw = Buffer.alloc(2048, 0);
    const written = await writeImage(registry.pushTarget, {
      repository: "raw",
      layers: [{ tar: raw, compression: "none" }],
    });
    expect(written.manifests[0]?.layers[0]).toMatchObject({
      digest: digestOf(raw),
      diffId: digestOf(raw),
      size: 2048,
    });
  });

  it("streams large layers to the registry with the same digests as building them in memory", async () => {
    const options = {
      repository: "random",
      totalBytes: 1024 * 1024,
      layers: 2,
      compression: "zstd" as const,
    };
    const streamed = await writeImage(
      registry.pushTarget,
      randomImage({ ...options, tag: "streamed", streamLayersAbove: 0 }),
    );
    const buffered = await writeImage(registry.pushTarget, randomImage({ ...options, tag: "buffered" }));
    expect(streamed.manifests[0]?.layers).toEqual(buffered.manifests[0]?.layers);
    const image = await client.resolve(streamed.reference);
    expect(image.layers.map((l) => l.size)).toEqual(streamed.manifests[0]?.layers.map((l) => l.size));
  });

  it("refuses a spec with both layers and platforms", async () => {
    await expect(
      writeImage(registry.pushTarget, { repository: "x", layers: [], platforms: [] }),
    ).rejects.toThrow(/either layers or platforms/);
  });
});
