import { readFile } from "node:fs/promises";
import path from "node:path";
import { CustomObjectsApi } from "@kubernetes/client-node";
import {
  DEFAULT_GOLDEN_HOST_DIR,
  GOLDEN_CONTENT_GROUP,
  goldenContentPopulator,
} from "@volpop/populator-csi-fastpath";
import { BackendCallError, type BackendClient, GrpcCode } from "@volpop/sdk/fastpath";
import { volumePopulatorName } from "@volpop/sdk/runtime";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  type BackendProcess,
  createGoldenContent,
  type GoldenBackend,
  type GoldenStore,
  goldenContentRef,
  hostpathStateDir,
  populationsStarted,
  sha256,
  startGoldenBackend,
} from "../e2e/support/fastpath-harness.ts";
import { type StorageClassPair, storageOnFirstNode } from "../e2e/support/first-node-storage.ts";
import {
  createPvc,
  createTestNamespace,
  deleteNamespace,
  eventsFor,
  JOB_DEVICE_PATH,
  JOB_MOUNT_PATH,
  type Kube,
  kube,
  runJob,
  waitForBound,
} from "../e2e/support/kube.ts";
import { watchPods } from "../support/pod-watch.ts";
import type { ControllerProgram } from "./support/controller-process.ts";
import { ControllerSeries } from "./support/controller-series.ts";
import { populationLeftovers, waitForNothingLeft } from "./support/leftovers.ts";

/**
 * The controller SIGKILLed at every step of a population that needs no pod: the CSI fast path (the
 * CSI fast-path populator's own program, and the reference backend as a process of its own) and the
 * function strategy (its functions call the same backend, as they would a storage vendor's API). As
 * in kill-at-every-step.chaos.ts, the test arms one failpoint, waits for the controller to stop dead
 * there, kills it and starts a new one; every population must end with the right data in the user's
 * volume, the backend's copy started exactly once (it logs each copy it begins), no populator pod
 * ever created, and nothing left: no PVC', no finalizer, no PV still claimed by PVC', no operation
 * the backend still keeps.
 *
 * The steps both strategies share with the Pod strategy before there is anything to fill (the
 * finalizer, PVC') are left to that suite: a controller killed there restarts into the strategy's
 * first step, which every case here runs. What is the strategy's own is covered: its decision, its
 * call to the backend, noticing the end of the backend's work after a restart, the hand-over, and
 * a clean-up that must reach the backend.
 */
const FAST_PATH_POINTS = [
  {
    name: "after the fast path is chosen and recorded on PVC', before the backend is asked",
    failpoint: "after:annotatePrimePvc",
  },
  // The backend copies at 1 MiB/s: the copy still runs while no controller does.
  { name: "after the backend accepted the operation", failpoint: "after:runtime:populate" },
  { name: "after the copy succeeded, before the PV is handed over", failpoint: "before:rebindPv" },
  { name: "after the PV is handed over", failpoint: "after:rebindPv" },
  { name: "mid-cleanup, after the backend's operation is cancelled", failpoint: "after:runtime:cancel" },
  { name: "mid-cleanup, after PVC' is deleted", failpoint: "after:deletePrimePvc" },
] as const;

const FUNCTION_POINTS = [
  // populate runs in the background: the backend may or may not have been asked when the kill comes.
  { name: "after populate was called", failpoint: "after:runtime:populate" },
  { name: "after isComplete said so, before the PV is handed over", failpoint: "before:rebindPv" },
  { name: "after the PV is handed over", failpoint: "after:rebindPv" },
  { name: "mid-cleanup, after the populator's cleanup ran", failpoint: "after:runtime:cleanup" },
  { name: "mid-cleanup, after PVC' is deleted", failpoint: "after:deletePrimePvc" },
] as const;

// The backend fills the hostpath driver's volumes through its state folder (the first node's).
const stateDir = hostpathStateDir();

describe.skipIf(!stateDir)("the controller SIGKILLed at every step of a population without pods", () => {
  let api: Kube;
  /** The reference backend (with its golden content and a client), as a storage vendor's API. */
  let storage: GoldenBackend;
  let golden: GoldenStore;
  let backend: BackendProcess;
  let client: BackendClient;
  // Volumes on the node whose driver state folder the backend reads (see storageOnFirstNode).
  let classes: StorageClassPair;
  let populatorNs: string;
  let userNs: string;
  let pods: ReturnType<typeof watchPods> | undefined;
  let controllers: ControllerSeries;
  /** Whether a VolumePopulator registered GoldenContent before the suite's controllers did. */
  let registeredBefore = true;

  const programs: Record<"fastpath" | "function", () => ControllerProgram> = {
    fastpath: () => ({
      strategy: "fastpath",
      backendEndpoint: backend.endpoint,
      goldenHostDir: golden.dir,
    }),
    function: () => ({ strategy: "function", backendEndpoint: backend.endpoint }),
  };

  beforeAll(async () => {
    api = kube();
    // The 3 MiB tree and the 4 MiB disk image take seconds: long enough to outlive a restart.
    storage = await startGoldenBackend(api, "chaos", { maxBytesPerSecond: "1Mi" });
    ({ golden, backend, client } = storage);
    registeredBefore = await goldenContentRegistered();
    classes = await storageOnFirstNode(api, "chaos-backend");
    populatorNs = await createTestNamespace(api, "chaos-backend");
    userNs = await createTestNamespace(api, "chaos-backend-user");
    controllers = new ControllerSeries({ kubeconfig: inject("kubeconfig"), namespace: populatorNs });
    // Every populator pod ever created (there must be none): a fallback would show here.
    pods = watchPods(api.config, populatorNs);
    await pods.start();
  });
  afterAll(async () => {
    pods?.stop();
    await controllers?.killAll();
    if (userNs) await controllers?.deleteUserNamespace(api, userNs, programs.fastpath());
    if (populatorNs) await deleteNamespace(api, populatorNs);
    // The controllers register GoldenContent with the data-source validator when nothing did.
    if (!registeredBefore) await unregisterGoldenContent();
    await storage?.stop();
    await classes?.remove();
  });

  // Alternating shapes covers both without doubling the cases: Filesystem with Immediate binding,
  // Block with WaitForFirstConsumer (the reader Job is the consumer).
  const shapeOf = (index: number) =>
    index % 2 === 0
      ? ({ volumeMode: "Filesystem", binding: "Immediate" } as const)
      : ({ volumeMode: "Block", binding: "WaitForFirstConsumer" } as const);
  const cases = [
    ...FAST_PATH_POINTS.map((point, i) => ({ ...point, strategy: "fastpath" as const, id: `fast${i}` })),
    ...FUNCTION_POINTS.map((point, i) => ({ ...point, strategy: "function" as const, id: `func${i}` })),
  ].map((c, i) => ({ ...c, ...shapeOf(i) }));

  it.each(cases)(
    "$strategy, $volumeMode, $binding: killed $name, it finishes with the right data, one copy, no pod, nothing leaked",
    async ({ strategy, volumeMode, binding, failpoint, id }) => {
      const program = programs[strategy]();
      const first = controllers.start([failpoint], program);
      await createGoldenContent(api, userNs, id, volumeMode === "Filesystem" ? "tree" : "disk");
      const pvc = await createPvc(api, userNs, id, {
        storageClassName: binding === "Immediate" ? classes.immediate : classes.waitForFirstConsumer,
        volumeMode,
        dataSourceRef: goldenContentRef(id),
      });
      const uid = pvc.metadata?.uid ?? "";
      // The reader is the consumer a WaitForFirstConsumer PVC waits for, so it starts now.
      const read = readBack(id, volumeMode);
      await first.reached(failpoint);
      await controllers.kill(first);
      const second = controllers.start([], program);
      try {
        expect(await read).toBe(await expectedData(volumeMode));
        await waitForBound(api, userNs, id);
        await waitForNothingLeft(() => leftovers(uid, id));
        expect(populationsStarted(backend, uid), "copies the backend started").toBe(1);
        expect(pods?.instances(`populate-${uid}`), "populator pods").toBe(0);
        const reasons = (await eventsFor(api, userNs, id)).map((e) => e.reason);
        expect(reasons).not.toContain("PopulatorCreated");
        expect(reasons).not.toContain("PopulatorFastPathFallback");
      } finally {
        await controllers.kill(second, "SIGTERM");
      }
    },
  );

  function readBack(name: string, volumeMode: "Filesystem" | "Block"): Promise<string> {
    return volumeMode === "Filesystem"
      ? runJob(api, userNs, `read-${name}`, {
          script: `cd ${JOB_MOUNT_PATH} && find . -type f | sort | xargs sha256sum`,
          pvc: { claimName: name, volumeMode },
        })
      : runJob(api, userNs, `read-${name}`, {
          script: `dd if=${JOB_DEVICE_PATH} bs=1M count=4 2>/dev/null | sha256sum`,
          pvc: { claimName: name, volumeMode },
          root: true,
        });
  }

  /** What `readBack` prints for a volume holding the golden tree (Filesystem) or disk image (Block). */
  async function expectedData(volumeMode: "Filesystem" | "Block"): Promise<string> {
    return volumeMode === "Filesystem"
      ? golden.checksums("tree")
      : `${sha256(await readFile(path.join(golden.dir, "disk.img")))}  -\n`;
  }

  /** The population's temporaries still there, and its operation if the backend still keeps it. */
  async function leftovers(uid: string, name: string): Promise<string[]> {
    const left = await populationLeftovers(api, {
      uid,
      name,
      userNamespace: userNs,
      populatorNamespace: populatorNs,
      group: GOLDEN_CONTENT_GROUP,
    });
    const kept = await client.getOperation(uid).then(
      (operation) => `the backend's operation (${operation.state})`,
      (error: unknown) => {
        if (error instanceof BackendCallError && error.grpcCode === GrpcCode.NOT_FOUND) return undefined;
        throw error;
      },
    );
    return kept ? [...left, kept] : left;
  }

  const VOLUME_POPULATORS = {
    group: "populator.storage.k8s.io",
    version: "v1beta1",
    plural: "volumepopulators",
  };
  const custom = () => api.config.makeApiClient(CustomObjectsApi);

  // A list that fails says nothing: taken as "registered", so that the suite never removes a
  // registration it did not make.
  async function goldenContentRegistered(): Promise<boolean> {
    const list = (await custom()
      .listClusterCustomObject(VOLUME_POPULATORS)
      .catch(() => undefined)) as { items?: { sourceKind?: { group?: string } }[] } | undefined;
    return (
      list === undefined || (list.items?.some((v) => v.sourceKind?.group === GOLDEN_CONTENT_GROUP) ?? false)
    );
  }

  async function unregisterGoldenContent(): Promise<void> {
    const { source } = goldenContentPopulator({ goldenHostDir: DEFAULT_GOLDEN_HOST_DIR });
    await custom()
      .deleteClusterCustomObject({ ...VOLUME_POPULATORS, name: volumePopulatorName(source) })
      .catch(() => undefined);
  }
});
