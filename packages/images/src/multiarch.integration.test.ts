import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { buildah } from "./buildah.ts";
import { helloBuiltTwice } from "./internal/built-twice.ts";
import { platform, runEmulated } from "./platform.ts";
import { referrersTag } from "./referrers.ts";

const amd64 = platform("linux/amd64");
const arm64 = platform("linux/arm64");
const helloVersion = (
  JSON.parse(
    fs.readFileSync(path.join(import.meta.dirname, "../../populator-hello/package.json"), "utf8"),
  ) as { version: string }
).version;

// `pnpm images build --platform linux/amd64,linux/arm64` then `push`, for hello: built twice from
// nothing (two fresh storages), each pushed as an OCI image index to a throwaway registry. The arm64
// image is proven to run by its `--version` under qemu-user, against its own root filesystem.
describe("a release of one image for linux/amd64 and linux/arm64", () => {
  const {
    storages,
    builds,
    pushes,
    registry: registryOf,
  } = helloBuiltTwice("multiarch", { platforms: [amd64, arm64] });

  it("pushes an image index listing linux/amd64 and linux/arm64, the same digests both times", async () => {
    const [first, second] = pushes.map((p) => p[0]);
    expect(first?.isIndex).toBe(true);
    expect(first?.platforms.map((p) => p.platform)).toEqual(["linux/amd64", "linux/arm64"]);
    expect(second?.digest).toBe(first?.digest);
    expect(second?.platforms.map((p) => p.digest)).toEqual(first?.platforms.map((p) => p.digest));
    expect(second?.platforms.map((p) => p.sbom.digest)).toEqual(first?.platforms.map((p) => p.sbom.digest));

    const response = await fetch(`${registryOf().url}/v2/build-0/volpop/populator-hello/manifests/1.2.3`, {
      headers: { accept: "application/vnd.oci.image.index.v1+json" },
    });
    expect(response.headers.get("content-type")).toBe("application/vnd.oci.image.index.v1+json");
    const index = (await response.json()) as {
      manifests: Array<{ digest: string; platform: { os: string; architecture: string } }>;
    };
    expect(index.manifests.map((m) => `${m.platform.os}/${m.platform.architecture}`)).toEqual([
      "linux/amd64",
      "linux/arm64",
    ]);
    expect(index.manifests.map((m) => m.digest)).toEqual(first?.platforms.map((p) => p.digest));
  });

  it("attaches each platform's SBOM to its image, with that platform's packages", async () => {
    const repository = `${registryOf().url}/v2/build-0/volpop/populator-hello`;
    const accept = {
      accept: "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json",
    };
    for (const pushed of pushes[0]?.[0]?.platforms ?? []) {
      const arch = pushed.platform === "linux/arm64" ? "arm64" : "amd64";
      const referrers = (await (
        await fetch(`${repository}/manifests/${referrersTag(pushed.digest)}`, { headers: accept })
      ).json()) as { manifests: Array<{ digest: string }> };
      expect(referrers.manifests.map((m) => m.digest)).toEqual([pushed.sbom.digest]);
      const artifact = (await (
        await fetch(`${repository}/manifests/${pushed.sbom.digest}`, { headers: accept })
      ).json()) as { layers: Array<{ digest: string }> };
      const sbom = (await (await fetch(`${repository}/blobs/${artifact.layers[0]?.digest}`)).json()) as {
        components: Array<{ name: string; purl: string }>;
      };
      const purls = sbom.components.map((c) => c.purl);
      expect(purls).toContain(`pkg:npm/node-linux-${arch === "arm64" ? "arm64" : "x64"}@24.21.0`);
      expect(purls.filter((p) => p.startsWith("pkg:deb/debian/libc6@"))).toEqual([
        expect.stringContaining(`arch=${arch}&`),
      ]);
    }
  });

  it("builds an arm64 image whose node prints the program's version under qemu-user", async () => {
    const storage = storages[0];
    const image = builds[0]?.[0]?.platforms.find((p) => p.platform === arm64)?.built.image;
    expect(image).toBe("volpop/populator-hello:1.2.3-arm64");
    const { stdout: arch } = await buildah(
      ["inspect", "--type", "image", "--format", "{{.OCIv1.Architecture}}", `${image}`],
      storage,
    );
    expect(arch.trim()).toBe("arm64");
    const container = (
      await buildah(["from", "--pull=never", "--arch", "arm64", `localhost/${image}`], storage)
    ).stdout.trim();
    try {
      const rootfs = (await buildah(["mount", container], storage)).stdout.trim();
      const ran = await runEmulated(arm64, rootfs, "/usr/bin/node", [
        path.join(rootfs, "app", "main.js"),
        "--version",
      ]);
      expect(ran.stderr).toBe("");
      expect(ran.stdout).toContain(helloVersion);
      const nodeVersion = await runEmulated(arm64, rootfs, "/usr/bin/node", [
        "-p",
        "[process.version, process.arch].join(' ')",
      ]);
      expect(nodeVersion.stdout.trim()).toBe("v24.21.0 arm64");
    } finally {
      await buildah(["rm", container], storage);
    }
  });
});
