import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  createPvc,
  createTestNamespace,
  deleteNamespace,
  e2eSettings,
  JOB_DEVICE_PATH,
  JOB_MOUNT_PATH,
  type Kube,
  kube,
  runJob,
  waitFor,
  waitForBound,
} from "../e2e/support/kube.ts";
import { createTestSource, preparePopulator, testSourceRef } from "../e2e/support/populator-harness.ts";
import { watchPods } from "../support/pod-watch.ts";
import { TEST_GROUP } from "../support/test-populator.ts";
import { ControllerSeries } from "./support/controller-series.ts";
import { populationLeftovers, waitForNothingLeft } from "./support/leftovers.ts";

/**
 * The controller SIGKILLed at every distinct step of a population (Pod strategy), chosen
 * systematically: each step of the plan the executor carries out has a failpoint, and the test arms
 * one, waits for the controller to stop there, kills it, and starts a new one. Every population must
 * end with the right data in the user's volume, exactly one populator pod ever created, and nothing
 * left: no PVC', no pod, no finalizer, no PV still claimed by PVC'. Mid-pod is a state, not a step:
 * the kill comes while the populator pod runs.
 */
const KILL_POINTS = [
  { name: "after the finalizer is added", failpoint: "after:addFinalizer" },
  { name: "after PVC' is created", failpoint: "after:createPrimePvc" },
  { name: "after the populator pod is created", failpoint: "after:createPod" },
  { name: "while the populator pod runs", failpoint: undefined },
  { name: "after the pod succeeded, before the PV is handed over", failpoint: "before:rebindPv" },
  { name: "after the PV is handed over", failpoint: "after:rebindPv" },
  { name: "mid-cleanup, after the pod is deleted", failpoint: "after:deletePod" },
  { name: "mid-cleanup, after PVC' is deleted", failpoint: "after:deletePrimePvc" },
] as const;

const SHAPES = [
  { volumeMode: "Filesystem", binding: "Immediate", storageClass: e2eSettings.immediateStorageClass },
  {
    volumeMode: "Block",
    binding: "WaitForFirstConsumer",
    storageClass: e2eSettings.waitForFirstConsumerStorageClass,
  },
] as const;

describe("the controller SIGKILLed at every step of a population", () => {
  let api: Kube;
  let populatorNs: string;
  let userNs: string;
  let pods: ReturnType<typeof watchPods> | undefined;
  let controllers: ControllerSeries;

  beforeAll(async () => {
    api = kube();
    populatorNs = await preparePopulator(api);
    userNs = await createTestNamespace(api, "chaos");
    controllers = new ControllerSeries({ kubeconfig: inject("kubeconfig"), namespace: populatorNs });
    // Every populator pod ever created: a population that created its pod twice shows two uids.
    pods = watchPods(api.config, populatorNs);
    await pods.start();
  });
  afterAll(async () => {
    pods?.stop();
    await controllers?.killAll();
    if (userNs) await controllers?.deleteUserNamespace(api, userNs);
    if (populatorNs) await deleteNamespace(api, populatorNs);
  });

  const cases = SHAPES.flatMap((shape, s) =>
    KILL_POINTS.map((point, p) => ({ ...shape, ...point, id: `c${s}${p}` })),
  );

  it.each(cases)(
    "$volumeMode, $binding: killed $name, it finishes with the right data, one pod, nothing leaked",
    async ({ volumeMode, storageClass, failpoint, id }) => {
      const contents = `population ${id} at ${Date.now()}`;
      const first = controllers.start(failpoint ? [failpoint] : []);
      await createTestSource(api, userNs, id, {
        fileName: "data.txt",
        contents,
        // Long enough to be caught running.
        ...(failpoint ? {} : { sleepSeconds: 6 }),
      });
      const pvc = await createPvc(api, userNs, id, {
        storageClassName: storageClass,
        volumeMode,
        dataSourceRef: testSourceRef(id),
      });
      const uid = pvc.metadata?.uid ?? "";
      // The reader is the consumer a WaitForFirstConsumer PVC waits for, so it starts now.
      const read = runJob(api, userNs, `read-${id}`, {
        script:
          volumeMode === "Filesystem"
            ? `cat ${JOB_MOUNT_PATH}/data.txt`
            : `dd if=${JOB_DEVICE_PATH} bs=1 count=${contents.length} 2>/dev/null`,
        pvc: { claimName: id, volumeMode },
        root: volumeMode === "Block",
      });
      if (failpoint) {
        await first.reached(failpoint);
      } else {
        await waitFor("the populator pod to run", async () => {
          const pod = await api.core
            .readNamespacedPod({ name: `populate-${uid}`, namespace: populatorNs })
            .catch(() => undefined);
          return pod?.status?.phase === "Running" ? true : undefined;
        });
      }
      await controllers.kill(first);
      const second = controllers.start();
      try {
        expect(await read).toBe(contents);
        await waitForBound(api, userNs, id);
        await waitForNothingLeft(() => leftovers(uid, id));
        expect(pods?.instances(`populate-${uid}`)).toBe(1);
      } finally {
        await controllers.kill(second, "SIGTERM");
      }
    },
  );

  const leftovers = (uid: string, name: string) =>
    populationLeftovers(api, {
      uid,
      name,
      userNamespace: userNs,
      populatorNamespace: populatorNs,
      group: TEST_GROUP,
    });
});
