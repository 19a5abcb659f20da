import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { targetProtectionFinalizer } from "@volpop/sdk/runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_GROUP } from "../support/test-populator.ts";
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
  waitForNamespaceGone,
} from "./support/kube.ts";
import {
  createTestSource,
  preparePopulator,
  type RunningController,
  startController,
  testSourceRef,
} from "./support/populator-harness.ts";

const FINALIZER = targetProtectionFinalizer(TEST_GROUP);

/**
 * Nothing left behind when a population's PVC goes away unseen, and populations an upstream
 * controller started carried on: the temporaries are found by name (upstream's names are ours), not
 * only by our labels.
 */
describe("populator controller: leftovers and populations it did not start", () => {
  let api: Kube;
  let populatorNs: string;
  let userNs: string;
  const running: RunningController[] = [];

  beforeAll(async () => {
    api = kube();
    populatorNs = await preparePopulator(api);
    userNs = await createTestNamespace(api, "sdk-left");
  });
  afterAll(async () => {
    if (userNs) {
      const controller = await startController(api, populatorNs, {}, "cleanup");
      await deleteNamespace(api, userNs);
      await waitForNamespaceGone(api, userNs).catch(() => undefined);
      await controller.stop();
    }
    for (const controller of running) await controller.stop();
    if (populatorNs) await deleteNamespace(api, populatorNs);
  });

  async function start(identity: string): Promise<RunningController> {
    const controller = await startController(api, populatorNs, {}, identity);
    running.push(controller);
    return controller;
  }

  async function stop(controller: RunningController): Promise<void> {
    running.splice(running.indexOf(controller), 1);
    await controller.stop();
  }

  /** A slow population of `name`; resolves with the PVC's uid once its populator pod runs. */
  async function slowPopulation(name: string): Promise<string> {
    await createTestSource(api, userNs, name, { fileName: "f", contents: name, sleepSeconds: 300 });
    const pvc = await createPvc(api, userNs, name, {
      storageClassName: e2eSettings.immediateStorageClass,
      volumeMode: "Filesystem",
      dataSourceRef: testSourceRef(name),
    });
    const uid = pvc.metadata?.uid ?? "";
    await waitFor(`the populator pod of ${name} to run`, async () => {
      const pod = await api.core
        .readNamespacedPod({ name: `populate-${uid}`, namespace: populatorNs })
        .catch(() => undefined);
      return pod?.status?.phase === "Running" ? true : undefined;
    });
    return uid;
  }

  /** Deletes the PVC the way that skips the controller: its finalizer stripped by hand. */
  async function deleteBehindTheControllersBack(name: string): Promise<void> {
    await api.core.deleteNamespacedPersistentVolumeClaim({ name, namespace: userNs });
    await api.core.patchNamespacedPersistentVolumeClaim(
      { name, namespace: userNs, body: { metadata: { "$deleteFromPrimitiveList/finalizers": [FINALIZER] } } },
      setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
    );
    await waitFor(`PVC ${name} to be gone`, async () =>
      (await api.core.readNamespacedPersistentVolumeClaim({ name, namespace: userNs }).catch(() => undefined))
        ? undefined
        : true,
    );
  }

  async function waitForNothingLeft(uid: string): Promise<void> {
    await waitFor("PVC' and the populator pod to be removed", async () => {
      const prime = await api.core
        .readNamespacedPersistentVolumeClaim({ name: `prime-${uid}`, namespace: populatorNs })
        .catch(() => undefined);
      const pod = await api.core
        .readNamespacedPod({ name: `populate-${uid}`, namespace: populatorNs })
        .catch(() => undefined);
      return prime || pod ? undefined : true;
    });
  }

  it("removes PVC' and the pod of a PVC whose finalizer someone stripped by hand", async () => {
    const controller = await start("stripped");
    try {
      const uid = await slowPopulation("stripped");
      await deleteBehindTheControllersBack("stripped");
      await waitForNothingLeft(uid);
    } finally {
      await stop(controller);
    }
  });

  it("sweeps, when it starts, what a PVC deleted while it was down left behind", async () => {
    const first = await start("before");
    const uid = await slowPopulation("while-down");
    await stop(first);
    await deleteBehindTheControllersBack("while-down");
    // Nobody running: PVC' and the pod stay, as they would in a cluster.
    expect(
      (await api.core.readNamespacedPod({ name: `populate-${uid}`, namespace: populatorNs })).metadata?.name,
    ).toBe(`populate-${uid}`);
    const second = await start("after");
    try {
      await waitForNothingLeft(uid);
    } finally {
      await stop(second);
    }
  });

  it("carries on a population upstream's controller started (its names, none of our labels), leaving nothing", async () => {
    // What upstream lib-volume-populator leaves mid-population when it is replaced: the finalizer on
    // the PVC, PVC' `prime-<uid>` and pod `populate-<uid>` in the populator namespace, none with our
    // labels or annotations. Made by hand here, as upstream makes them.
    const contents = "written by upstream's populator pod";
    await createTestSource(api, userNs, "upstream", { fileName: "data.txt", contents });
    const pvc = await createPvc(api, userNs, "upstream", {
      storageClassName: e2eSettings.immediateStorageClass,
      volumeMode: "Filesystem",
      dataSourceRef: testSourceRef("upstream"),
    });
    const uid = pvc.metadata?.uid ?? "";
    await api.core.patchNamespacedPersistentVolumeClaim(
      { name: "upstream", namespace: userNs, body: { metadata: { finalizers: [FINALIZER] } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    await api.core.createNamespacedPersistentVolumeClaim({
      namespace: populatorNs,
      body: {
        metadata: { name: `prime-${uid}` },
        spec: {
          accessModes: ["ReadWriteOnce"],
          resources: { requests: { storage: pvc.spec?.resources?.requests?.storage ?? "1Gi" } },
          storageClassName: e2eSettings.immediateStorageClass,
          volumeMode: "Filesystem",
        },
      },
    });
    await api.core.createNamespacedPod({
      namespace: populatorNs,
      body: {
        metadata: { name: `populate-${uid}` },
        spec: {
          restartPolicy: "Never",
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 65532,
            fsGroup: 65532,
            seccompProfile: { type: "RuntimeDefault" },
          },
          containers: [
            {
              name: "populate",
              image: process.env.VOLPOP_E2E_BUSYBOX_IMAGE ?? "busybox",
              command: ["sh", "-c", `sleep 5; printf '%s' "$CONTENTS" > /mnt/data.txt`],
              env: [{ name: "CONTENTS", value: contents }],
              volumeMounts: [{ name: "target", mountPath: "/mnt" }],
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
            },
          ],
          volumes: [{ name: "target", persistentVolumeClaim: { claimName: `prime-${uid}` } }],
        },
      },
    });
    const controller = await start("takes-over");
    try {
      await waitForBound(api, userNs, "upstream");
      const log = await runJob(api, userNs, "read-upstream", {
        script: `cat ${JOB_MOUNT_PATH}/data.txt`,
        pvc: { claimName: "upstream", volumeMode: "Filesystem" },
      });
      expect(log).toBe(contents);
      await waitForNothingLeft(uid);
      const after = await api.core.readNamespacedPersistentVolumeClaim({
        name: "upstream",
        namespace: userNs,
      });
      expect(after.metadata?.finalizers ?? []).not.toContain(FINALIZER);
      // It waited for upstream's pod rather than starting one of its own.
      const reasons = (await eventsFor(api, userNs, "upstream")).map((e) => e.reason);
      expect(reasons).not.toContain("PopulatorCreated");
      expect(reasons).toContain("PopulatorFinished");
    } finally {
      await stop(controller);
    }
  });
});
