import { chmod, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { publishProductImage } from "@volpop/images";
import { goldenContentPopulator } from "@volpop/populator-csi-fastpath";
import { POPULATOR_UID } from "@volpop/sdk";
import { doctorPvc, FindingCode } from "@volpop/sdk/doctor";
import { runConformance } from "@volpop/sdk/fastpath";
import { populateProgressAnnotation, targetProtectionFinalizer } from "@volpop/sdk/runtime";
import { badInputCase, contained } from "@volpop/test-catalogue";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { registry as embeddedRegistry } from "../cluster/config.ts";
import { watchPods } from "../support/pod-watch.ts";
import { TEST_GROUP, testPopulator } from "../support/test-populator.ts";
import {
  type BackendProcess,
  chownTree,
  createGoldenContent,
  fastPath,
  type GoldenStore,
  goldenContentRef,
  hostpathStateDir,
  installGoldenContentCrd,
  populationsStarted,
  sha256,
  startBackendProcess,
  startFastPathController,
  writeGoldenStore,
} from "./support/fastpath-harness.ts";
import { type StorageClassPair, storageOnFirstNode } from "./support/first-node-storage.ts";
import {
  createPvc,
  createTestNamespace,
  deleteNamespace,
  e2eSettings,
  eventsFor,
  JOB_DEVICE_PATH,
  JOB_MOUNT_PATH,
  type Kube,
  kube,
  runJob,
  stillThere,
  waitFor,
  waitForBound,
} from "./support/kube.ts";
import {
  createTestSource,
  preparePopulator,
  type RunningController,
  testSourceRef,
} from "./support/populator-harness.ts";

const PREFIX = "fastpath.volpop.dev";
// The backend reaches volumes through the hostpath driver's state directory.
const stateDir = hostpathStateDir();

describe.skipIf(!stateDir)("CSI fast path with the reference hostpath backend", () => {
  let api: Kube;
  let populatorNs: string;
  let userNs: string;
  let work: string;
  let golden: GoldenStore;
  let backend: BackendProcess;
  let controller: RunningController;
  let pods: ReturnType<typeof watchPods>;
  // Volumes on the node whose driver state folder the backend reads (see storageOnFirstNode).
  let storage: StorageClassPair;

  // The suite's own controller: golden content through the reference backend.
  const startSuiteController = () =>
    startFastPathController(
      api,
      populatorNs,
      goldenContentPopulator({ goldenHostDir: golden.dir }),
      fastPath(backend.endpoint),
    );
  beforeAll(async () => {
    api = kube();
    work = await mkdtemp(path.join(os.tmpdir(), "volpop-fastpath-e2e-"));
    golden = await writeGoldenStore(path.join(work, "golden"), 256);
    backend = await startBackendProcess({
      socket: path.join(work, "run/backend.sock"),
      stateDir,
      goldenDir: golden.dir,
      // Slow enough that the tests can act while a population runs.
      maxBytesPerSecond: "64Mi",
    });
    await installGoldenContentCrd(api);
    storage = await storageOnFirstNode(api, "fastpath");
    populatorNs = await createTestNamespace(api, "fastpath");
    userNs = await createTestNamespace(api, "fastpath-user");
    pods = watchPods(api.config, populatorNs);
    await pods.start();
    controller = await startSuiteController();
  });
  afterAll(async () => {
    pods?.stop();
    await controller?.stop();
    await backend?.kill();
    if (userNs) await deleteNamespace(api, userNs);
    if (populatorNs) await deleteNamespace(api, populatorNs);
    await storage?.remove();
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function uidOf(pvcName: string) {
    const pvc = await api.core.readNamespacedPersistentVolumeClaim({ name: pvcName, namespace: userNs });
    return pvc.metadata?.uid ?? "";
  }
  const copyUnderWay = (name: string) =>
    waitFor("the fast-path copy to be under way", async () => {
      const current = await api.core.readNamespacedPersistentVolumeClaim({ name, namespace: userNs });
      return /^[1-9]\d*% /.test(current.metadata?.annotations?.[populateProgressAnnotation(PREFIX)] ?? "")
        ? true
        : undefined;
    });
  async function createBig(name: string) {
    await createGoldenContent(api, userNs, name, "big");
    await createPvc(api, userNs, name, {
      storageClassName: storage.immediate,
      volumeMode: "Filesystem",
      size: "512Mi",
      dataSourceRef: goldenContentRef(name),
    });
  }
  const podsFor = (uid: string) => [...pods.created()].filter((p) => p === `populate-${uid}`);

  async function expectFastPathOnly(pvcName: string) {
    const reasons = (await eventsFor(api, userNs, pvcName)).map((e) => e.reason);
    expect(reasons).toContain("PopulatorFastPath");
    expect(reasons.filter((r) => r === "PopulatorFinished")).toHaveLength(1);
    expect(reasons).not.toContain("PopulatorCreated");
    expect(reasons).not.toContain("PopulatorFastPathFallback");
    expect(podsFor(await uidOf(pvcName))).toEqual([]);
  }

  const treeScript = `cd ${JOB_MOUNT_PATH} && find . -type f | sort | xargs sha256sum && echo "link -> $(readlink link)" && stat -c '%a' hello.txt && ls -A`;

  it.each([
    { binding: "Immediate", storageClass: () => storage.immediate },
    { binding: "WaitForFirstConsumer", storageClass: () => storage.waitForFirstConsumer },
  ])("fills a Filesystem volume ($binding) with no populator pod", async ({ binding, storageClass }) => {
    const name = `tree-${binding === "Immediate" ? "imm" : "wffc"}`;
    await createGoldenContent(api, userNs, name, "tree");
    await createPvc(api, userNs, name, {
      storageClassName: storageClass(),
      volumeMode: "Filesystem",
      dataSourceRef: goldenContentRef(name),
    });
    const log = await runJob(api, userNs, `read-${name}`, {
      script: treeScript,
      pvc: { claimName: name, volumeMode: "Filesystem" },
    });
    // The kubelet adds group read-write for the reading Job's fsGroup; the rest of the mode is the golden one.
    expect(log).toMatch(/\n6[46]0\ndata\nhello\.txt\nlink\n$/);
    expect(log.startsWith(`${await golden.checksums("tree")}link -> hello.txt\n`)).toBe(true);
    await waitForBound(api, userNs, name);
    await expectFastPathOnly(name);
  });

  it("fills a Block volume with the golden disk image", async () => {
    const name = "disk";
    await createGoldenContent(api, userNs, name, "disk");
    await createPvc(api, userNs, name, {
      storageClassName: storage.immediate,
      volumeMode: "Block",
      dataSourceRef: goldenContentRef(name),
    });
    const log = await runJob(api, userNs, "read-disk", {
      script: `dd if=${JOB_DEVICE_PATH} bs=1M count=4 2>/dev/null | sha256sum`,
      pvc: { claimName: name, volumeMode: "Block" },
      root: true,
    });
    expect(log.trim()).toBe(`${sha256(await readFile(path.join(golden.dir, "disk.img")))}  -`);
    await expectFastPathOnly(name);
  });

  badInputCase.each([
    { name: "traversal", content: "../../etc", message: /spec\.content.*should match/ },
    { name: "image-suffix", content: "disk.img", message: /content must not end with '\.img'/ },
  ])(
    {
      id: "fastpath-e2e-hostile-content-name",
      component: "fastpath",
      input: "a GoldenContent whose content is a path (../../etc) or ends in .img",
      expected:
        "API rejection: spec.content should match ^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$; content must not end with '.img'",
      checks: ["nothing-created"],
    },
    async ({ name, content, message }) => {
      await expect(createGoldenContent(api, userNs, `hostile-${name}`, content)).rejects.toThrow(message);
      const stored = api.config.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
        group: PREFIX,
        version: "v1alpha1",
        namespace: userNs,
        plural: "goldencontents",
        name: `hostile-${name}`,
      });
      await contained("nothing-created", async () => expect(await stillThere({ stored })).toEqual([]));
    },
  );

  it("shows the backend's progress on the PVC while it copies", async () => {
    const name = "big-progress";
    await createBig(name);
    const progress = await waitFor("a progress annotation from the fast path", async () => {
      const pvc = await api.core.readNamespacedPersistentVolumeClaim({ name, namespace: userNs });
      const value = pvc.metadata?.annotations?.[populateProgressAnnotation(PREFIX)];
      return value && /^\d+% .* via fast path$/.test(value) ? value : undefined;
    });
    expect(progress).toMatch(/of 256\.0 MiB\) via fast path$/);
    await waitForBound(api, userNs, name);
    await expectFastPathOnly(name);
  });

  it("cancels the backend's operation when the PVC is deleted mid-population, leaving nothing behind", async () => {
    const name = "big-deleted";
    await createBig(name);
    const pvc = await api.core.readNamespacedPersistentVolumeClaim({ name, namespace: userNs });
    const uid = pvc.metadata?.uid ?? "";
    await copyUnderWay(name);
    const prime = await api.core.readNamespacedPersistentVolumeClaim({
      name: `prime-${uid}`,
      namespace: populatorNs,
    });
    const pvName = prime.spec?.volumeName ?? "";
    const handle = (await api.core.readPersistentVolume({ name: pvName })).spec?.csi?.volumeHandle ?? "";
    await api.core.deleteNamespacedPersistentVolumeClaim({ name, namespace: userNs });

    await waitFor("the PVC, PVC', the PV and the volume to be gone", async () => {
      const left = await Promise.all([
        api.core.readNamespacedPersistentVolumeClaim({ name, namespace: userNs }).then(
          () => "PVC",
          () => "",
        ),
        api.core.readNamespacedPersistentVolumeClaim({ name: `prime-${uid}`, namespace: populatorNs }).then(
          () => "PVC'",
          () => "",
        ),
        api.core.readPersistentVolume({ name: pvName }).then(
          () => "PV",
          () => "",
        ),
        import("node:fs/promises").then((fs) =>
          fs.stat(path.join(stateDir, handle)).then(
            () => "volume",
            () => "",
          ),
        ),
      ]);
      return left.every((l) => l === "") ? true : undefined;
    });
    // The cancel reached the backend: it no longer knows the operation.
    expect(backend.output()).toMatch(
      new RegExp(`"operationId":"${uid}"[^\\n]*cancel|cancel[^\\n]*${uid}`, "i"),
    );
    expect(podsFor(uid)).toEqual([]);
  });

  it("resumes the same operation after a controller restart, never populating twice", async () => {
    const name = "big-restarted";
    await createBig(name);
    await copyUnderWay(name);
    const uid = await uidOf(name);
    await controller.stop();
    // Stopped, the controller changes nothing: doctor sees the population as the fast path left it.
    const report = await doctorPvc(api.config, { namespace: userNs, name });
    const fastPath = report.findings.find((f) => f.code === FindingCode.FastPath);
    expect(fastPath?.what).toBe(`A CSI fast-path backend fills the volume (${backend.endpoint})`);
    expect(fastPath?.evidence).toContainEqual(
      expect.stringMatching(
        new RegExp(`^PVC annotation ${PREFIX}/populate-progress: \\d+% .* via fast path$`),
      ),
    );
    controller = await startSuiteController();
    await waitForBound(api, userNs, name);
    // The new controller asked again with the same operation id and attempt: the backend answered
    // with the running operation instead of starting a second copy.
    expect(populationsStarted(backend, uid)).toBe(1);
    await expectFastPathOnly(name);
  });

  it("survives the backend being killed mid-copy: retried, completed once, no pod", async () => {
    const name = "big-killed";
    await createBig(name);
    await copyUnderWay(name);
    await backend.kill("SIGKILL");
    backend = await startBackendProcess({
      socket: backend.socket,
      stateDir,
      goldenDir: golden.dir,
      maxBytesPerSecond: "64Mi",
    });
    await waitForBound(api, userNs, name);
    const log = await runJob(api, userNs, "read-big-killed", {
      script: `cd ${JOB_MOUNT_PATH} && sha256sum big/blob.bin 2>/dev/null || sha256sum blob.bin; ls -A`,
      pvc: { claimName: name, volumeMode: "Filesystem" },
    });
    const expected = (await golden.checksums("big")).split("  ")[0];
    expect(log).toContain(expected);
    expect(log).not.toContain(".volpop-fastpath-operation");
    await expectFastPathOnly(name);
  });

  it("passes the conformance suite on a real provisioned volume", async () => {
    const scratch = ["scratch-a", "scratch-b"];
    for (const name of scratch) {
      await createPvc(api, userNs, name, {
        storageClassName: storage.immediate,
        volumeMode: "Filesystem",
      });
    }
    const handles = await Promise.all(
      scratch.map(async (name) => {
        const pvc = await waitForBound(api, userNs, name);
        const pv = await api.core.readPersistentVolume({ name: pvc.spec?.volumeName ?? "" });
        return pv.spec?.csi?.volumeHandle ?? "";
      }),
    );
    const results = await runConformance({
      endpoint: backend.endpoint,
      volume: {
        csiDriver: "hostpath.csi.k8s.io",
        volumeHandle: handles[0] ?? "",
        otherVolumeHandle: handles[1] ?? "",
        capacityBytes: 1 << 30,
        volumeMode: "Filesystem",
        sourceKind: { group: PREFIX, kind: "GoldenContent" },
        sourceJson: JSON.stringify({
          apiVersion: `${PREFIX}/v1alpha1`,
          kind: "GoldenContent",
          spec: { content: "tree" },
        }),
      },
    });
    expect(results.filter((r) => r.outcome !== "passed")).toEqual([]);
    expect(results.length).toBeGreaterThanOrEqual(15);
  });

  it("falls back to its own pod, which copies the same golden content, when no backend serves the driver", async () => {
    const target = inject("embeddedCluster") ? embeddedRegistry : process.env.VOLPOP_IMAGE_REGISTRY;
    if (!target) throw new Error("set VOLPOP_IMAGE_REGISTRY: the fallback pod runs this repository's image");
    const image = await publishProductImage("populator-csi-fastpath", target);
    const other = await startBackendProcess({
      socket: path.join(work, "other/backend.sock"),
      stateDir,
      goldenDir: golden.dir,
      driverName: "other.csi.example.com",
    });
    // The pod mounts the golden directory from the node: hostPath needs the privileged level, and
    // the pod's non-root user must be able to reach it.
    const fallbackNs = await createTestNamespace(api, "fastpath-fallback");
    await api.core.patchNamespace(
      {
        name: fallbackNs,
        body: { metadata: { labels: { "pod-security.kubernetes.io/enforce": "privileged" } } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    await chmod(work, 0o755);
    // The golden tree holds a 0640 file (modes are part of what is copied): the pod's non-root user
    // reads it as its owner, as an operator would arrange on a real node.
    await chownTree(golden.dir, POPULATOR_UID);
    // This suite's own controller serves the same kind through a backend that does serve the driver:
    // left running, it would race the fallback controller for the PVC.
    await controller.stop();
    let fallback: RunningController | undefined;
    try {
      fallback = await startFastPathController(
        api,
        fallbackNs,
        goldenContentPopulator({ goldenHostDir: golden.dir }),
        fastPath(other.endpoint),
        {},
        image,
      );
      const name = "tree-by-pod";
      await createGoldenContent(api, userNs, name, "tree");
      await createPvc(api, userNs, name, {
        storageClassName: storage.immediate,
        volumeMode: "Filesystem",
        dataSourceRef: goldenContentRef(name),
      });
      await waitForBound(api, userNs, name);
      const log = await runJob(api, userNs, `read-${name}`, {
        script: treeScript,
        pvc: { claimName: name, volumeMode: "Filesystem" },
      });
      const expected = `${await golden.checksums("tree")}link -> hello.txt\n`;
      expect(log.slice(0, expected.length)).toBe(expected);
      const reasons = (await eventsFor(api, userNs, name)).map((e) => e.reason);
      expect(reasons).toContain("PopulatorFastPathFallback");
      expect(reasons).toContain("PopulatorCreated");
    } finally {
      await fallback?.stop();
      await other.kill();
      await deleteNamespace(api, fallbackNs);
      controller = await startSuiteController();
    }
  });
});

describe("CSI fast path falls back to the Pod strategy", () => {
  let api: Kube;
  let populatorNs: string;
  let userNs: string;
  let work: string;

  beforeAll(async () => {
    api = kube();
    work = await mkdtemp(path.join(os.tmpdir(), "volpop-fallback-e2e-"));
    await mkdir(path.join(work, "state"));
    await mkdir(path.join(work, "golden"));
    populatorNs = await preparePopulator(api);
    userNs = await createTestNamespace(api, "fallback");
  });
  afterAll(async () => {
    if (userNs) await deleteNamespace(api, userNs);
    if (populatorNs) await deleteNamespace(api, populatorNs);
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function populateWith(name: string, endpoint: string, expectedReason: string) {
    const controller = await startFastPathController(api, populatorNs, testPopulator(), fastPath(endpoint));
    try {
      const contents = `fallback ${name}`;
      await createTestSource(api, userNs, name, { fileName: "data.txt", contents });
      await createPvc(api, userNs, name, {
        storageClassName: e2eSettings.immediateStorageClass,
        volumeMode: "Filesystem",
        dataSourceRef: testSourceRef(name),
      });
      await waitForBound(api, userNs, name);
      const log = await runJob(api, userNs, `read-${name}`, {
        script: `cat ${JOB_MOUNT_PATH}/data.txt`,
        pvc: { claimName: name, volumeMode: "Filesystem" },
      });
      contained("pvc-kept", () => expect(log).toBe(contents));
      const events = await eventsFor(api, userNs, name);
      const fallback = events.find((e) => e.reason === "PopulatorFastPathFallback");
      expect(fallback?.message).toMatch(/^Populating with a pod instead of the fast path: /);
      expect(events.map((e) => e.reason)).toContain("PopulatorCreated");
      const metrics = await controller.registry.getSingleMetricAsString("volpop_fastpath_decisions_total");
      expect(metrics).toContain(
        `volpop_fastpath_decisions_total{decision="fallback",reason="${expectedReason}"} 1`,
      );
      const pvc = await api.core.readNamespacedPersistentVolumeClaim({ name, namespace: userNs });
      expect(pvc.metadata?.finalizers ?? []).not.toContain(targetProtectionFinalizer(TEST_GROUP));
      return fallback?.message ?? "";
    } finally {
      await controller.stop();
    }
  }

  it("when the backend does not serve the source kind", async () => {
    const backend = await startBackendProcess({
      socket: path.join(work, "kind/backend.sock"),
      stateDir: path.join(work, "state"),
      goldenDir: path.join(work, "golden"),
    });
    try {
      const message = await populateWith("kind", backend.endpoint, "SourceKindNotServed");
      expect(message).toContain(`populates TestSource.${TEST_GROUP}`);
    } finally {
      await backend.kill();
    }
  });

  it("when the backend does not serve the PV's CSI driver", async () => {
    const backend = await startBackendProcess({
      socket: path.join(work, "driver/backend.sock"),
      stateDir: path.join(work, "state"),
      goldenDir: path.join(work, "golden"),
      driverName: "other.csi.example.com",
    });
    try {
      const message = await populateWith("driver", backend.endpoint, "DriverNotServed");
      expect(message).toContain("no fast-path backend serves CSI driver");
    } finally {
      await backend.kill();
    }
  });

  badInputCase(
    {
      id: "fastpath-e2e-backend-down",
      component: "fastpath",
      input: "a fast-path backend endpoint nothing listens on",
      expected:
        "Normal PopulatorFastPathFallback (BackendUnavailable): no fast-path backend answers; a populator pod fills the volume",
      checks: ["pvc-kept"],
    },
    async () => {
      const message = await populateWith(
        "stopped",
        `unix://${path.join(work, "nobody/backend.sock")}`,
        "BackendUnavailable",
      );
      expect(message).toContain("no fast-path backend answers");
    },
  );
});
