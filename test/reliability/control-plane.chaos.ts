import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type ComponentName, restartComponent, startComponent, stopComponent } from "../cluster/faults.ts";
import { type StorageClassPair, storageOnFirstNode } from "../e2e/support/first-node-storage.ts";
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
} from "../e2e/support/kube.ts";
import { createTestSource, preparePopulator, testSourceRef } from "../e2e/support/populator-harness.ts";
import { watchPods } from "../support/pod-watch.ts";
import { TEST_GROUP } from "../support/test-populator.ts";
import { type ControllerProcess, startControllerProcess } from "./support/controller-process.ts";
import { populationLeftovers, waitForNothingLeft } from "./support/leftovers.ts";

/**
 * The cluster's own components fail mid-population: each restarted (or, for etcd, kept down 10 s)
 * at the moment it matters most. The population must finish with the right data, one populator pod,
 * nothing left, and the controller still running: a controller that dies because its API server went
 * away for a few seconds is a pager at night.
 */
const FAULTS: ReadonlyArray<{
  readonly name: string;
  readonly component: ComponentName;
  readonly downMs?: number;
  /**
   * `running`: while the populator pod runs; `provisioning`: stopped before the PVC is created and kept
   * down (`downMs`) while PVC' waits for its volume, so that the fault is sure to land before it binds.
   */
  readonly when: "running" | "provisioning";
}> = [
  {
    name: "kube-apiserver restarted while the populator pod runs",
    component: "kube-apiserver",
    when: "running",
  },
  {
    name: "etcd stopped for 10 s while the populator pod runs",
    component: "etcd",
    downMs: 10_000,
    when: "running",
  },
  { name: "the kubelet restarted while the populator pod runs", component: "kubelet", when: "running" },
  {
    name: "the CSI driver down for 5 s as PVC' is to be provisioned",
    component: "csi-hostpath",
    downMs: 5_000,
    when: "provisioning",
  },
  {
    name: "the CSI provisioner down for 5 s as PVC' is to be provisioned",
    component: "csi-provisioner",
    downMs: 5_000,
    when: "provisioning",
  },
  { name: "containerd restarted while the populator pod runs", component: "containerd", when: "running" },
];

// Restarting a cluster's components takes owning its processes: the embedded cluster only. Against
// $KUBECONFIG's cluster these faults are the operator's to inject (docs/reliability.md says how).
describe.skipIf(!inject("embeddedCluster"))("control-plane and node faults mid-population", () => {
  let api: Kube;
  let populatorNs: string;
  let userNs: string;
  let controller: ControllerProcess;
  let pods: ReturnType<typeof watchPods> | undefined;
  // The faults hit the first node's kubelet, containerd and CSI processes: the volumes go there.
  let storage: StorageClassPair | undefined;

  beforeAll(async () => {
    api = kube();
    storage = await storageOnFirstNode(api, "faults");
    populatorNs = await preparePopulator(api);
    userNs = await createTestNamespace(api, "faults");
    pods = watchPods(api.config, populatorNs);
    await pods.start();
    controller = startControllerProcess({ kubeconfig: inject("kubeconfig"), namespace: populatorNs });
  });
  afterAll(async () => {
    pods?.stop();
    if (userNs) {
      await deleteNamespace(api, userNs);
      await waitForNamespaceGone(api, userNs).catch(() => undefined);
    }
    await controller?.kill("SIGTERM");
    if (populatorNs) await deleteNamespace(api, populatorNs);
    await storage?.remove();
  });

  it.each(FAULTS.map((fault, i) => ({ ...fault, id: `f${i}` })))(
    "$name: the right data, one pod, nothing leaked, the controller still up",
    async ({ component, downMs, when, id }) => {
      const contents = `population ${id} through a ${component} fault at ${Date.now()}`;
      await createTestSource(api, userNs, id, {
        fileName: "data.txt",
        contents,
        // Long enough for the fault to land while it runs, and for it to outlive a short one.
        ...(when === "running" ? { sleepSeconds: 8 } : {}),
      });
      // The provisioner (a sidecar a kubelet restarts, here a loop) exits when its driver goes away.
      if (when === "provisioning") await stopComponent(component);
      let uid = "";
      let read: Promise<string> | undefined;
      try {
        const pvc = await createPvc(api, userNs, id, {
          storageClassName: storage?.immediate ?? e2eSettings.immediateStorageClass,
          volumeMode: "Filesystem",
          dataSourceRef: testSourceRef(id),
        });
        uid = pvc.metadata?.uid ?? "";
        read = runJob(api, userNs, `read-${id}`, {
          script: `cat ${JOB_MOUNT_PATH}/data.txt`,
          pvc: { claimName: id, volumeMode: "Filesystem" },
        });
        // Awaited below; a failure before then must not go unhandled.
        read.catch(() => undefined);
        if (when === "running") {
          await waitFor("the populator pod to run", async () => {
            const pod = await api.core
              .readNamespacedPod({ name: `populate-${uid}`, namespace: populatorNs })
              .catch(() => undefined);
            return pod?.status?.phase === "Running" ? true : undefined;
          });
          await restartComponent(component, downMs === undefined ? {} : { downMs });
        } else {
          const prime = () =>
            api.core
              .readNamespacedPersistentVolumeClaim({ name: `prime-${uid}`, namespace: populatorNs })
              .catch(() => undefined);
          await waitFor("PVC' to be created", async () => (await prime()) && true, 60_000, 100);
          await sleep(downMs ?? 0);
          // The fault mattered: nothing could provision PVC' while the component was down.
          expect((await prime())?.status?.phase, "PVC' while the component is down").toBe("Pending");
        }
      } finally {
        // Whatever failed, the suites after this one need the component back.
        if (when === "provisioning") await startComponent(component);
      }

      expect(await read).toBe(contents);
      await waitForBound(api, userNs, id);
      const leftovers = () =>
        populationLeftovers(api, {
          uid,
          name: id,
          userNamespace: userNs,
          populatorNamespace: populatorNs,
          group: TEST_GROUP,
        });
      await waitForNothingLeft(leftovers);
      expect(pods?.instances(`populate-${uid}`)).toBe(1);
      // The watch may miss a pod created and deleted while it reconnected after a 410: the
      // controller's own announcements on the PVC count them too, from the API server's store.
      const announced = (await eventsFor(api, userNs, id))
        .filter((event) => event.reason === "PopulatorCreated")
        .reduce((sum, event) => sum + (event.count ?? 1), 0);
      expect(announced, "populator pods announced on the PVC").toBe(1);
      expect(controller.exited(), `the controller exited:\n${controller.output().slice(-3000)}`).toBe(false);
    },
  );
});
