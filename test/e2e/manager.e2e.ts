import { goldenContentPopulator } from "@volpop/populator-csi-fastpath";
import { createLogger, functionStrategy } from "@volpop/sdk";
import type { BackendClient } from "@volpop/sdk/fastpath";
import { addPopulator, createManager, type Manager } from "@volpop/sdk/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiserverMetrics, openWatches } from "../support/apiserver-metrics.ts";
import { backendFunctions } from "../support/golden-backend-functions.ts";
import { TEST_GROUP, testPopulator } from "../support/test-populator.ts";
import {
  createGoldenContent,
  type GoldenBackend,
  type GoldenStore,
  goldenContentRef,
  hostpathStateDir,
  startGoldenBackend,
} from "./support/fastpath-harness.ts";
import { type StorageClassPair, storageOnFirstNode } from "./support/first-node-storage.ts";
import {
  createPvc,
  createTestNamespace,
  deleteNamespace,
  e2eSettings,
  JOB_MOUNT_PATH,
  type Kube,
  kube,
  runJob,
  waitFor,
  waitForBound,
  waitForNamespaceGone,
} from "./support/kube.ts";
import { createTestSource, preparePopulator, testSourceRef } from "./support/populator-harness.ts";

// Two populators in one process under one Manager: the test populator on the Pod strategy and the
// golden-content populator on the function strategy (its functions call the reference storage
// backend, no pod). They share the Manager's informers, so the API server serves one watch per
// collection however many populators read it: the suite counts the API server's open watches
// (`apiserver_longrunning_requests`) before and after the Manager starts. The function route needs
// the hostpath driver's state directory, as the fast-path suite (VOLPOP_E2E_HOSTPATH_STATE_DIR on
// another cluster).
const stateDir = hostpathStateDir();

describe.skipIf(!stateDir)("two populators in one process, under one Manager", () => {
  let api: Kube;
  let populatorNs: string;
  let userNs: string;
  let storage: GoldenBackend | undefined;
  // The backend reaches the first node's volumes only (see storageOnFirstNode).
  let pinned: StorageClassPair | undefined;
  let golden: GoldenStore;
  let client: BackendClient;
  let manager: Manager;
  let running: Promise<void> | undefined;
  const stop = new AbortController();
  let before: Map<string, number>;

  beforeAll(async () => {
    api = kube();
    storage = await startGoldenBackend(api, "manager");
    ({ golden, client } = storage);
    pinned = await storageOnFirstNode(api, "manager");
    populatorNs = await preparePopulator(api);
    userNs = await createTestNamespace(api, "manager-user");

    manager = createManager({
      kubeConfig: api.config,
      identity: "e2e-manager",
      logger: createLogger({
        name: "e2e-manager",
        level: (process.env.VOLPOP_E2E_LOG_LEVEL as "info") ?? "silent",
      }),
    });
    const settings = { retryBaseDelayMs: 1000, progressIntervalMs: 1000 };
    addPopulator(manager, {
      populator: testPopulator(),
      namespace: populatorNs,
      settings,
      registerVolumePopulator: false,
    });
    addPopulator(manager, {
      populator: goldenContentPopulator({ goldenHostDir: golden.dir }),
      namespace: populatorNs,
      settings,
      registerVolumePopulator: false,
      strategy: functionStrategy({ pollIntervalMs: 200, ...backendFunctions(client) }),
    });
    before = openWatches(await apiserverMetrics(api.config));
    running = manager.run(stop.signal);
    await waitFor("the manager to be ready", async () =>
      manager.readyz().every((check) => check.ok) ? true : undefined,
    );
  });
  afterAll(async () => {
    if (userNs) {
      await deleteNamespace(api, userNs);
      await waitForNamespaceGone(api, userNs).catch(() => undefined);
    }
    stop.abort();
    await running;
    await storage?.stop();
    await pinned?.remove();
    if (populatorNs) await deleteNamespace(api, populatorNs);
  });

  it("opens one watch per collection for both populators", async () => {
    // Each collection both populators read, and the scope it is watched at. The sources are two
    // kinds, one watch each.
    const shared = [
      "persistentvolumeclaims/cluster",
      "persistentvolumes/cluster",
      "storageclasses/cluster",
      "pods/namespace",
      "events/namespace",
    ];
    // Other clients' watches come and go (a reflector reconnecting): the count must hold still for
    // a few seconds, one more than before for each collection, never two.
    let steady = 0;
    await waitFor("one more open watch per shared collection, held for three samples", async () => {
      const now = openWatches(await apiserverMetrics(api.config));
      const added = shared.map((key) => (now.get(key) ?? 0) - (before.get(key) ?? 0));
      steady = added.every((n) => n === 1) ? steady + 1 : 0;
      return steady >= 3 ? added : undefined;
    });
  });

  it("populates through both, each its own kind, in the one process", async () => {
    const contents = `from the pod strategy at ${Date.now()}`;
    await createTestSource(api, userNs, "by-pod", { fileName: "data.txt", contents });
    await createPvc(api, userNs, "by-pod", {
      storageClassName: e2eSettings.immediateStorageClass,
      volumeMode: "Filesystem",
      dataSourceRef: testSourceRef("by-pod"),
    });
    await createGoldenContent(api, userNs, "by-function", "tree");
    await createPvc(api, userNs, "by-function", {
      storageClassName: pinned?.immediate ?? e2eSettings.immediateStorageClass,
      volumeMode: "Filesystem",
      dataSourceRef: goldenContentRef("by-function"),
    });
    const [podLog, functionLog] = await Promise.all([
      runJob(api, userNs, "read-by-pod", {
        script: `cat ${JOB_MOUNT_PATH}/data.txt`,
        pvc: { claimName: "by-pod", volumeMode: "Filesystem" },
      }),
      runJob(api, userNs, "read-by-function", {
        script: `cd ${JOB_MOUNT_PATH} && find . -type f | sort | xargs sha256sum`,
        pvc: { claimName: "by-function", volumeMode: "Filesystem" },
      }),
    ]);
    expect(podLog).toBe(contents);
    expect(functionLog).toBe(await golden.checksums("tree"));
    await waitForBound(api, userNs, "by-pod");
    await waitForBound(api, userNs, "by-function");

    // One registry for the process; each populator's series carry its name.
    const metrics = await manager.registry.metrics();
    expect(metrics).toMatch(
      new RegExp(
        `^volpop_population_strategy_total\\{strategy="pod",outcome="success",populator="${TEST_GROUP}"\\} 1$`,
        "m",
      ),
    );
    expect(metrics).toMatch(
      /^volpop_population_strategy_total\{strategy="function",outcome="success",populator="[^"]+"\} 1$/m,
    );
    expect(metrics).toContain("process_start_time_seconds");
  });
});
