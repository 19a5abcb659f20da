import { execFile } from "node:child_process";
import fs from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { layout } from "../cluster/config.ts";
import { buildWalkthroughImages } from "../cluster/walkthrough-images.ts";
import {
  helloYaml,
  installHello,
  installValidator,
  type Kubectl,
  readWithJob,
  runStory,
  unregisteredKindWarning,
} from "../support/walkthrough.ts";
import { createTestNamespace, deleteNamespace, e2eSettings, type Kube, kube } from "./support/kube.ts";

const execFileAsync = promisify(execFile);

/**
 * The seed walkthrough, literally (same kinds, names, fields and output), with the validator and the
 * hello populator running in the cluster from their own images; then its variations.
 */
describe("the walkthrough", () => {
  let api: Kube;
  let kubectl: Kubectl;
  const namespaces: string[] = [];
  const namespace = async (prefix: string) => {
    const name = await createTestNamespace(api, prefix);
    namespaces.push(name);
    return name;
  };

  beforeAll(async () => {
    api = kube();
    const kubeconfig = inject("kubeconfig");
    const bin = fs.existsSync(layout.bin("kubernetes", "kubectl"))
      ? layout.bin("kubernetes", "kubectl")
      : "kubectl";
    kubectl = async (args, input) => {
      const child = execFileAsync(bin, [`--kubeconfig=${kubeconfig}`, ...args], {
        maxBuffer: 16 * 1024 * 1024,
      });
      if (input !== undefined) child.child.stdin?.end(input);
      return (await child).stdout;
    };
    const images = await buildWalkthroughImages(inject("embeddedCluster"));
    await installValidator(kubectl, images);
    await installHello(kubectl, images);
  }, 900_000);
  afterAll(async () => {
    for (const ns of namespaces) await deleteNamespace(api, ns);
  });

  it("ends with the Job printing exactly Hello, world!", async () => {
    const log = await runStory(kubectl, { namespace: await namespace("walkthrough") });
    expect(log).toBe("Hello, world!\n");
  });

  it("warns about a PVC whose data source kind no VolumePopulator registers", async () => {
    const warning = await unregisteredKindWarning(kubectl, await namespace("unregistered"));
    expect(warning).toContain(
      "Warning UnrecognizedDataSourceKind: The datasource for this PVC does not match any registered VolumePopulator",
    );
  });

  it.each([
    ["multi-line and non-ASCII contents", { fileContents: "你好，世界！\nsecond line ✓" }],
    ["another file name", { fileName: "greeting-2.TXT" }],
    ["a Block volume", { volumeMode: "Block" as const, fileContents: "raw bytes on a device" }],
    [
      "a WaitForFirstConsumer StorageClass",
      { storageClassName: e2eSettings.waitForFirstConsumerStorageClass },
    ],
    ["a PVC created before its Hello", { pvcBeforeHello: true }],
  ])("works with %s", async (_title, variation) => {
    const story = { namespace: await namespace("variation"), ...variation };
    const log = await runStory(kubectl, story);
    const contents = "fileContents" in variation ? variation.fileContents : "Hello, world!";
    expect(log).toBe(`${contents}\n`);
  });

  it("keeps the data after the Hello is deleted", async () => {
    const ns = await namespace("keep");
    await runStory(kubectl, { namespace: ns });
    await kubectl(["-n", ns, "delete", "hello/example-hello", "--wait=true"]);
    expect(await readWithJob(kubectl, { namespace: ns, jobName: "read-again" })).toBe("Hello, world!\n");
  });

  it("populates 20 PVCs created at once", async () => {
    const ns = await namespace("many");
    const stories = Array.from({ length: 20 }, (_, i) => ({
      namespace: ns,
      helloName: `hello-${i}`,
      pvcName: `pvc-${i}`,
      jobName: `job-${i}`,
      fileContents: `Hello number ${i}`,
    }));
    const logs = await Promise.all(stories.map((story) => runStory(kubectl, story)));
    expect(logs).toEqual(stories.map((s) => `${s.fileContents}\n`));
  });

  it.each([
    [
      "a file name with a slash",
      { fileName: "../etc/passwd" },
      "fileName must be a plain file name without '/'",
    ],
    ["an absolute file name", { fileName: "/etc/passwd" }, "fileName must be a plain file name without '/'"],
    ["the file name ..", { fileName: ".." }, "fileName must not be '.' or '..'"],
    ["contents over 64 KiB", { fileContents: "x".repeat(65537) }, "spec.fileContents: Too long"],
  ])("has the API server refuse a Hello with %s", async (_title, fields, message) => {
    const ns = await namespace("bad");
    await expect(
      kubectl(["-n", ns, "apply", "-f", "-"], helloYaml({ namespace: ns, ...fields })),
    ).rejects.toThrow(message);
  });

  it("has the API server refuse a Hello without its fields", async () => {
    const ns = await namespace("bad");
    const yaml = "apiVersion: hello.example.com/v1alpha1\nkind: Hello\nmetadata: {name: empty}\nspec: {}\n";
    await expect(kubectl(["-n", ns, "apply", "-f", "-"], yaml)).rejects.toThrow(
      /spec.fileName: Required value.*|spec.fileContents: Required value/s,
    );
  });
});
