import { describe, expect, it } from "vitest";
import { ManifestInvalidError, UnsupportedDigestError, UnsupportedMediaTypeError } from "./errors.ts";
import { parseImageConfig, parseManifest } from "./manifest.ts";
import { MediaType } from "./media-types.ts";

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const bytes = (value: unknown) => Buffer.from(JSON.stringify(value));
const manifest = {
  schemaVersion: 2,
  mediaType: MediaType.OciManifest,
  config: { mediaType: MediaType.OciConfig, digest: digest("a"), size: 10 },
  layers: [{ mediaType: MediaType.OciLayerGzip, digest: digest("b"), size: 20, annotations: { k: "v" } }],
};

describe("parseManifest", () => {
  it("reads an OCI manifest served with its media type", () => {
    const parsed = parseManifest(bytes(manifest), MediaType.OciManifest, "m");
    expect(parsed.kind).toBe("manifest");
    if (parsed.kind === "manifest") {
      expect(parsed.manifest.layers).toEqual([
        { mediaType: MediaType.OciLayerGzip, digest: digest("b"), size: 20, annotations: { k: "v" } },
      ]);
    }
  });

  it("takes the type from the body when the content type is generic, and from the shape when both are silent", () => {
    expect(parseManifest(bytes(manifest), "application/json", "m").kind).toBe("manifest");
    const { mediaType: _, ...bare } = manifest;
    expect(parseManifest(bytes(bare), "", "m").kind).toBe("manifest");
    const index = { schemaVersion: 2, manifests: [] };
    expect(parseManifest(bytes(index), "", "m").kind).toBe("index");
  });

  it("reads the platform of index entries", () => {
    const index = {
      schemaVersion: 2,
      mediaType: MediaType.DockerManifestList,
      manifests: [
        {
          mediaType: MediaType.DockerManifest,
          digest: digest("c"),
          size: 5,
          platform: { os: "linux", architecture: "arm", variant: "v7" },
        },
      ],
    };
    const parsed = parseManifest(bytes(index), MediaType.DockerManifestList, "i");
    expect(parsed.kind === "index" && parsed.index.manifests[0]?.platform).toEqual({
      os: "linux",
      architecture: "arm",
      variant: "v7",
    });
  });

  it("names an unknown media type, and says why schema 1 is refused", () => {
    expect(() => parseManifest(bytes(manifest), "application/vnd.example.thing+json", "manifest x")).toThrow(
      UnsupportedMediaTypeError,
    );
    expect(() => parseManifest(bytes(manifest), "application/vnd.example.thing+json", "manifest x")).toThrow(
      'unsupported media type "application/vnd.example.thing+json" for manifest x',
    );
    expect(() =>
      parseManifest(
        bytes({ schemaVersion: 1 }),
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
        "m",
      ),
    ).toThrow(/schema 1 is deprecated/);
  });

  it.each([
    ["not JSON", Buffer.from("{"), /not valid JSON/],
    [
      "a body that contradicts its content type",
      bytes({ ...manifest, mediaType: MediaType.OciIndex }),
      /declares mediaType/,
    ],
    ["a wrong schema version", bytes({ ...manifest, schemaVersion: 1 }), /schemaVersion/],
    ["a negative size", bytes({ ...manifest, layers: [{ ...manifest.layers[0], size: -1 }] }), /size/],
    ["a missing layer list", bytes({ ...manifest, layers: undefined }), /"layers" is not a list/],
  ])("refuses %s", (_, body, message) => {
    expect(() => parseManifest(body, MediaType.OciManifest, "m")).toThrow(ManifestInvalidError);
    expect(() => parseManifest(body, MediaType.OciManifest, "m")).toThrow(message);
  });

  it("refuses digests it cannot verify", () => {
    const body = bytes({ ...manifest, layers: [{ ...manifest.layers[0], digest: "md5:abc" }] });
    expect(() => parseManifest(body, MediaType.OciManifest, "m")).toThrow(UnsupportedDigestError);
  });
});

describe("parseImageConfig", () => {
  it("reads diff_ids and keeps the rest", () => {
    const config = parseImageConfig(
      bytes({ os: "linux", rootfs: { type: "layers", diff_ids: [digest("d")] }, extra: 1 }),
      "c",
    );
    expect(config.rootfs.diff_ids).toEqual([digest("d")]);
    expect(config.extra).toBe(1);
  });

  it("refuses a config without rootfs", () => {
    expect(() => parseImageConfig(bytes({ os: "linux" }), "c")).toThrow(/rootfs/);
  });
});
