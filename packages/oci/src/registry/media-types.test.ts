import { describe, expect, it } from "vitest";
import { isGenericJson, isImageConfig, layerCompression, MediaType, manifestKind } from "./media-types.ts";

describe("layerCompression", () => {
  it.each([
    [MediaType.OciLayer, "none"],
    [MediaType.OciLayerGzip, "gzip"],
    [MediaType.OciLayerZstd, "zstd"],
    [MediaType.OciLayerNondistributable, "none"],
    [MediaType.OciLayerNondistributableGzip, "gzip"],
    [MediaType.OciLayerNondistributableZstd, "zstd"],
    [MediaType.DockerLayerGzip, "gzip"],
    [MediaType.DockerForeignLayerGzip, "gzip"],
    [MediaType.DockerLayer, "none"],
    ["application/vnd.oci.image.layer.v1.tar+gzip; charset=binary", "gzip"],
  ])("reads %s as %s", (mediaType, expected) => {
    expect(layerCompression(mediaType)).toBe(expected);
  });

  it.each(["application/vnd.oci.image.layer.v1.tar+bzip2", "application/octet-stream", MediaType.OciConfig])(
    "knows no compression for %s",
    (mediaType) => {
      expect(layerCompression(mediaType)).toBeUndefined();
    },
  );
});

describe("manifestKind", () => {
  it("tells indexes from manifests, OCI and Docker alike", () => {
    expect(manifestKind(MediaType.OciIndex)).toBe("index");
    expect(manifestKind(MediaType.DockerManifestList)).toBe("index");
    expect(manifestKind(MediaType.OciManifest)).toBe("manifest");
    expect(manifestKind(`${MediaType.DockerManifest}; charset=utf-8`)).toBe("manifest");
    expect(manifestKind("application/vnd.docker.distribution.manifest.v1+prettyjws")).toBeUndefined();
  });

  it("recognises image configs and generic JSON content types", () => {
    expect(isImageConfig(MediaType.DockerConfig)).toBe(true);
    expect(isImageConfig("application/vnd.cncf.helm.config.v1+json")).toBe(false);
    expect(isGenericJson("application/json; charset=utf-8")).toBe(true);
    expect(isGenericJson("")).toBe(true);
    expect(isGenericJson(MediaType.OciManifest)).toBe(false);
  });
});
