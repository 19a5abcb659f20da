import { setTimeout as sleep } from "node:timers/promises";
import { badInputCase, badInputCases, contained } from "@volpop/test-catalogue";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { buildWalkthroughImages } from "../cluster/walkthrough-images.ts";
import {
  helloYaml,
  installHello,
  installValidator,
  type Kubectl,
  pvcYaml,
  readWithJob,
  runStory,
  unregisteredKindWarning,
} from "../support/walkthrough.ts";
import { createTestNamespace, deleteNamespace, e2eSettings, type Kube, kube } from "./support/kube.ts";
import { e2eKubectl } from "./support/kubectl.ts";

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
    kubectl = e2eKubectl();
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

  // 64 KiB of backslashes fit the Hello's CRD and its own check, but JSON writes each as two: 128.1 KiB,
  // over the 128 KiB Linux allows one environment variable, where a populator pod receives its spec.
  badInputCase(
    {
      id: "sdk-e2e-spec-over-env-limit",
      component: "sdk",
      input:
        "a Hello whose spec is 128.1 KiB as JSON, over Linux's limit for the env var a populator pod gets it in",
      expected: "PopulatorCreationError naming the size and the 128 KiB limit; no populator pod",
      checks: ["nothing-created", "no-leftovers"],
    },
    async () => {
      const ns = await namespace("too-large");
      const story = { namespace: ns, fileContents: "\\".repeat(65_536) };
      await kubectl(["-n", ns, "create", "-f", "-"], helloYaml(story));
      await kubectl(["-n", ns, "create", "-f", "-"], pvcYaml(story));
      const pvcUid = (
        await kubectl(["-n", ns, "get", "pvc/example-pvc", "-o", "jsonpath={.metadata.uid}"])
      ).trim();
      let events = "";
      for (let i = 0; i < 60 && !events.includes("Linux limits"); i++) {
        await sleep(1000);
        events = await kubectl([
          "-n",
          ns,
          "get",
          "events",
          "--field-selector",
          "involvedObject.name=example-pvc",
          "-o",
          'jsonpath={range .items[*]}{.type} {.reason}: {.message}{"\\n"}{end}',
        ]);
      }
      expect(events).toContain(
        `Warning PopulatorCreationError: Populator pod not created: the spec of Hello ${ns}/example-hello is 128.1 KiB as JSON, and a populator pod receives it in one environment variable (VOLPOP_SPEC), which Linux limits to 128.0 KiB: make the Hello smaller`,
      );
      await contained("nothing-created", async () =>
        expect(await kubectl(["-n", "hello", "get", "pods", "-o", "name"])).not.toContain(
          `populate-${pvcUid}`,
        ),
      );
      await kubectl(["-n", ns, "delete", "pvc/example-pvc", "--wait=true", "--timeout=60s"]);
      for (let i = 0; i < 30; i++) {
        if (!(await kubectl(["-n", "hello", "get", "pvc", "-o", "name"])).includes(pvcUid)) break;
        await sleep(1000);
      }
      await contained("no-leftovers", async () =>
        expect(await kubectl(["-n", "hello", "get", "pvc", "-o", "name"])).not.toContain(pvcUid),
      );
    },
  );

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

  /** No Hello was stored in `ns`: the API server refused it before anything could act on it. */
  const noHelloIn = (ns: string) =>
    contained("nothing-created", async () =>
      expect(await kubectl(["-n", ns, "get", "hellos", "-o", "name"])).toBe(""),
    );

  badInputCases(
    [
      {
        id: "hello-e2e-file-name-traversal",
        component: "hello",
        input: "a Hello whose fileName is ../etc/passwd",
        expected: "API rejection: fileName must be a plain file name without '/'",
        checks: ["nothing-created"],
        fields: { fileName: "../etc/passwd" },
        message: "fileName must be a plain file name without '/'",
      },
      {
        id: "hello-e2e-file-name-absolute",
        component: "hello",
        input: "a Hello whose fileName is /etc/passwd",
        expected: "API rejection: fileName must be a plain file name without '/'",
        checks: ["nothing-created"],
        fields: { fileName: "/etc/passwd" },
        message: "fileName must be a plain file name without '/'",
      },
      {
        id: "hello-e2e-file-name-dotdot",
        component: "hello",
        input: "a Hello whose fileName is ..",
        expected: "API rejection: fileName must not be '.' or '..'",
        checks: ["nothing-created"],
        fields: { fileName: ".." },
        message: "fileName must not be '.' or '..'",
      },
      {
        id: "hello-e2e-contents-too-long",
        component: "hello",
        input: "a Hello whose fileContents is one byte over 64 KiB",
        expected: "API rejection: spec.fileContents: Too long",
        checks: ["nothing-created"],
        fields: { fileContents: "x".repeat(65537) },
        message: "spec.fileContents: Too long",
      },
    ],
    async ({ fields, message }) => {
      const ns = await namespace("bad");
      await expect(
        kubectl(["-n", ns, "apply", "-f", "-"], helloYaml({ namespace: ns, ...fields })),
      ).rejects.toThrow(message);
      await noHelloIn(ns);
    },
  );

  badInputCase(
    {
      id: "hello-e2e-missing-fields",
      component: "hello",
      input: "a Hello with an empty spec",
      expected: "API rejection: spec.fileName: Required value, spec.fileContents: Required value",
      checks: ["nothing-created"],
    },
    async () => {
      const ns = await namespace("bad");
      const yaml = "apiVersion: hello.example.com/v1alpha1\nkind: Hello\nmetadata: {name: empty}\nspec: {}\n";
      await expect(kubectl(["-n", ns, "apply", "-f", "-"], yaml)).rejects.toThrow(
        /spec.fileName: Required value.*|spec.fileContents: Required value/s,
      );
      await noHelloIn(ns);
    },
  );
});
