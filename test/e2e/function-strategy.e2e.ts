import { goldenContentPopulator } from "@volpop/populator-csi-fastpath";
import { functionStrategy } from "@volpop/sdk";
import type { BackendClient } from "@volpop/sdk/fastpath";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backendFunctions } from "../support/golden-backend-functions.ts";
import {
  createGoldenContent,
  type GoldenBackend,
  type GoldenStore,
  goldenContentRef,
  hostpathStateDir,
  startFastPathController,
  startGoldenBackend,
} from "./support/fastpath-harness.ts";
import { type StorageClassPair, storageOnFirstNode } from "./support/first-node-storage.ts";
import {
  createPvc,
  createTestNamespace,
  deleteNamespace,
  e2eSettings,
  eventsFor,
  JOB_MOUNT_PATH,
  type Kube,
  kube,
  runJob,
  waitFor,
  waitForBound,
} from "./support/kube.ts";
import type { RunningController } from "./support/populator-harness.ts";

// The function strategy populates with the populator's own functions and no pod. The no-pod route
// here is a storage vendor's API: the reference fast-path backend, called from the functions through
// its client as any storage API would be (populate starts a copy into the PV's volume, isComplete
// asks how it goes, cleanup cancels). Like the fast-path suite, it needs the hostpath driver's state
// directory (VOLPOP_E2E_HOSTPATH_STATE_DIR on another cluster).
const stateDir = hostpathStateDir();

describe.skipIf(!stateDir)("the function strategy: a populator's own functions, no pod", () => {
  let api: Kube;
  let populatorNs: string;
  let userNs: string;
  let storage: GoldenBackend | undefined;
  let golden: GoldenStore;
  let client: BackendClient;
  let controller: RunningController | undefined;
  // Volumes on the node whose driver state folder the backend reads (see storageOnFirstNode).
  let pinned: StorageClassPair | undefined;
  const calls: string[] = [];
  // The first populate of a PVC named `flaky-…` fails, as a storage API might.
  const failedOnce = new Set<string>();

  beforeAll(async () => {
    api = kube();
    storage = await startGoldenBackend(api, "function");
    ({ golden, client } = storage);
    pinned = await storageOnFirstNode(api, "function");
    populatorNs = await createTestNamespace(api, "function");
    userNs = await createTestNamespace(api, "function-user");
    const strategy = functionStrategy<{ content: string }>({
      pollIntervalMs: 200,
      ...backendFunctions(client, {
        beforePopulate(population) {
          const name = population.pvc.metadata?.name ?? "";
          calls.push(`populate ${name} ${population.attempt}`);
          if (name.startsWith("flaky-") && !failedOnce.has(name)) {
            failedOnce.add(name);
            throw new Error("the storage API is busy");
          }
        },
        onCleanup: (name) => calls.push(`cleanup ${name}`),
      }),
    });
    controller = await startFastPathController(
      api,
      populatorNs,
      goldenContentPopulator({ goldenHostDir: golden.dir }),
      strategy,
    );
  });
  afterAll(async () => {
    await controller?.stop();
    await storage?.stop();
    await pinned?.remove();
    if (userNs) await deleteNamespace(api, userNs);
    if (populatorNs) await deleteNamespace(api, populatorNs);
  });

  async function populateTree(name: string) {
    await createGoldenContent(api, userNs, name, "tree");
    await createPvc(api, userNs, name, {
      storageClassName: pinned?.immediate ?? e2eSettings.immediateStorageClass,
      volumeMode: "Filesystem",
      dataSourceRef: goldenContentRef(name),
    });
    const log = await runJob(api, userNs, `read-${name}`, {
      script: `cd ${JOB_MOUNT_PATH} && find . -type f | sort | xargs sha256sum`,
      pvc: { claimName: name, volumeMode: "Filesystem" },
    });
    expect(log).toBe(await golden.checksums("tree"));
    await waitForBound(api, userNs, name);
  }

  async function podsIn(namespace: string) {
    return (await api.core.listNamespacedPod({ namespace })).items.map((p) => p.metadata?.name);
  }

  it("fills the volume through the functions, hands it over, cleans up, and starts no pod", async () => {
    await populateTree("tree");
    const reasons = (await eventsFor(api, userNs, "tree")).map((e) => e.reason);
    expect(reasons).toContain("PopulateOperationStartSuccess");
    expect(reasons.filter((r) => r === "PopulatorFinished")).toHaveLength(1);
    expect(reasons).not.toContain("PopulatorCreated");
    expect(await podsIn(populatorNs)).toEqual([]);
    await waitFor("the populator's cleanup to be called", async () =>
      calls.includes("cleanup tree") ? true : undefined,
    );
    expect(calls.filter((c) => c.startsWith("populate tree"))).toEqual(["populate tree 1"]);
    expect((await api.core.listNamespacedPersistentVolumeClaim({ namespace: populatorNs })).items).toEqual(
      [],
    );
    expect(await controller?.registry.metrics()).toMatch(
      /^volpop_population_strategy_total\{strategy="function",outcome="success",populator="[^"]+"\} 1$/m,
    );
  });

  it("retries a populate that failed, says why on the PVC, and completes on the next attempt", async () => {
    await populateTree("flaky-tree");
    expect(calls.filter((c) => c.startsWith("populate flaky-tree"))).toEqual([
      "populate flaky-tree 1",
      "populate flaky-tree 2",
    ]);
    // Only the population's own: a data-source validator in the cluster may warn about the suite's
    // kind, which no VolumePopulator registers here.
    const warnings = (await eventsFor(api, userNs, "flaky-tree")).filter(
      (e) => e.type === "Warning" && e.reason === "PopulatorFailed",
    );
    expect(warnings.map((e) => e.message)).toEqual([
      expect.stringMatching(/^Population failed \(attempt 1 of \d+\): the storage API is busy; retrying in/),
    ]);
  });
});
