import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { registry as embeddedRegistry } from "../cluster/config.ts";
import { NoRegistryError } from "../cluster/walkthrough-images.ts";
import { installHello, installValidator, type Kubectl, runStory } from "../support/walkthrough.ts";
import { createTestNamespace, deleteNamespace, type Kube, kube } from "./support/kube.ts";
import { e2eKubectl } from "./support/kubectl.ts";

const execFileAsync = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, "../..");
const INDEX = "application/vnd.oci.image.index.v1+json";
const MANIFEST = "application/vnd.oci.image.manifest.v1+json";

/** One image as `pnpm images push` reports it. */
interface Pushed {
  readonly reference: string;
  readonly digest: string;
  readonly platforms: ReadonlyMap<string, { digest: string; sbom: string }>;
}

/** Reads `<ref>@<digest>  (image index)` lines and their indented `<platform> <digest>  sbom <digest> (…)` lines. */
function parsePushOutput(stdout: string): Pushed[] {
  const pushed: Array<{
    reference: string;
    digest: string;
    platforms: Map<string, { digest: string; sbom: string }>;
  }> = [];
  for (const line of stdout.split("\n")) {
    const image = /^(\S+)@(sha256:[0-9a-f]{64})/.exec(line);
    if (image) pushed.push({ reference: image[1] ?? "", digest: image[2] ?? "", platforms: new Map() });
    const platform = /^\s+(\S+)\s+(sha256:[0-9a-f]{64})\s+sbom (sha256:[0-9a-f]{64})/.exec(line);
    if (platform)
      pushed.at(-1)?.platforms.set(platform[1] ?? "", { digest: platform[2] ?? "", sbom: platform[3] ?? "" });
  }
  return pushed;
}

/**
 * The release command as a release engineer runs it (`pnpm images push`, both platforms) into the
 * registry the cluster pulls from; then the walkthrough on those image indexes, pinned by the
 * index's digest, so the node picks its own platform's image out of each.
 */
describe("a two-platform release pushed with `pnpm images push`", () => {
  let api: Kube;
  let kubectl: Kubectl;
  let registry: string;
  let pushed: Pushed[];
  const namespaces: string[] = [];

  beforeAll(async () => {
    api = kube();
    kubectl = e2eKubectl();
    const target = inject("embeddedCluster") ? embeddedRegistry : process.env.VOLPOP_IMAGE_REGISTRY;
    if (!target) throw new NoRegistryError("set VOLPOP_IMAGE_REGISTRY to a registry the cluster pulls from");
    registry = target;
    const { stdout } = await execFileAsync(
      process.execPath,
      [
        "--conditions=volpop-source",
        path.join(repoRoot, "packages/images/src/cli.ts"),
        "push",
        "--registry",
        registry,
        "--platform",
        "linux/amd64,linux/arm64",
        "--image",
        "validator",
        "--image",
        "populator-hello",
        "--tag",
        "e2e-release",
      ],
      { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 },
    );
    pushed = parsePushOutput(stdout);
  }, 1_200_000);
  afterAll(async () => {
    for (const ns of namespaces) await deleteNamespace(api, ns);
  });

  const registryGet = async (repository: string, reference: string, accept: string) => {
    const response = await fetch(`http://${registry}/v2/${repository}/manifests/${reference}`, {
      headers: { accept },
    });
    expect(response.status, `${repository}:${reference}`).toBe(200);
    return (await response.json()) as Record<string, unknown>;
  };

  it("pushes an OCI image index for each image, listing linux/amd64 and linux/arm64", async () => {
    expect(pushed.map((p) => p.reference)).toEqual([
      `${registry}/volpop/validator:e2e-release`,
      `${registry}/volpop/populator-hello:e2e-release`,
    ]);
    for (const image of pushed) {
      const repository = image.reference.slice(registry.length + 1).split(":")[0] ?? "";
      const index = (await registryGet(repository, "e2e-release", INDEX)) as {
        mediaType: string;
        manifests: Array<{ digest: string; platform: { os: string; architecture: string } }>;
      };
      expect(index.mediaType).toBe(INDEX);
      expect(index.manifests.map((m) => `${m.platform.os}/${m.platform.architecture}`)).toEqual([
        "linux/amd64",
        "linux/arm64",
      ]);
      expect(index.manifests.map((m) => m.digest)).toEqual([
        image.platforms.get("linux/amd64")?.digest,
        image.platforms.get("linux/arm64")?.digest,
      ]);
    }
  });

  it("attaches an SBOM to each platform's image that a client can fetch from the registry", async () => {
    for (const image of pushed) {
      const repository = image.reference.slice(registry.length + 1).split(":")[0] ?? "";
      for (const [platform, { digest, sbom }] of image.platforms) {
        const listed = (await registryGet(repository, digest.replace(":", "-"), INDEX)) as {
          manifests: Array<{ digest: string; artifactType: string }>;
        };
        expect(listed.manifests, platform).toContainEqual(
          expect.objectContaining({ digest: sbom, artifactType: "application/vnd.cyclonedx+json" }),
        );
        const artifact = (await registryGet(repository, sbom, MANIFEST)) as {
          layers: Array<{ digest: string }>;
        };
        const blob = await fetch(`http://${registry}/v2/${repository}/blobs/${artifact.layers[0]?.digest}`);
        const document = (await blob.json()) as {
          bomFormat: string;
          metadata: { component: { name: string } };
        };
        expect(document.bomFormat).toBe("CycloneDX");
        expect(document.metadata.component.name).toContain(repository.split("/").at(-1));
      }
    }
  });

  it("runs the walkthrough on the indexes, the node pulling its amd64 images", async () => {
    const byName = (name: string) => {
      const image = pushed.find((p) => p.reference.includes(`/volpop/${name}:`));
      if (image === undefined) throw new Error(`${name} was not pushed`);
      return image;
    };
    const validator = byName("validator");
    const hello = byName("populator-hello");
    await installValidator(kubectl, {
      validator: `${registry}/volpop/validator@${validator.digest}`,
      hello: `${registry}/volpop/populator-hello@${hello.digest}`,
    });
    await installHello(kubectl, {
      validator: `${registry}/volpop/validator@${validator.digest}`,
      hello: `${registry}/volpop/populator-hello@${hello.digest}`,
    });
    const ns = await createTestNamespace(api, "release");
    namespaces.push(ns);
    expect(await runStory(kubectl, { namespace: ns })).toBe("Hello, world!\n");
    // Which of the index's images the node picked: node in the running container says its CPU
    // (qemu-user's binfmt handlers could run the arm64 one here too, so that it runs proves nothing).
    const arch = await kubectl([
      "-n",
      "hello",
      "exec",
      "deploy/hello-populator",
      "--",
      "node",
      "-p",
      "process.arch",
    ]);
    const nodeArch = await kubectl([
      "get",
      "nodes",
      "-o",
      "jsonpath={.items[0].status.nodeInfo.architecture}",
    ]);
    expect({ node: nodeArch, container: arch.trim() }).toEqual({
      node: nodeArch,
      container: nodeArch === "amd64" ? "x64" : nodeArch,
    });
  });
});
