import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {
  PatchStrategy,
  setHeaderOptions,
  type V1Node,
  type V1PersistentVolume,
} from "@kubernetes/client-node";
import { publishProductImage } from "@volpop/images";
import { goldenContentPopulator } from "@volpop/populator-csi-fastpath";
import { POPULATOR_UID } from "@volpop/sdk";
import { csiFastPathStrategy } from "@volpop/sdk/fastpath";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { registry as embeddedRegistry } from "../cluster/config.ts";
import { startComponent, stopComponent } from "../cluster/faults.ts";
import { clusterNodes } from "../cluster/nodes.ts";
import { watchPods } from "../support/pod-watch.ts";
import {
  type BackendProcess,
  chownTree,
  createGoldenContent,
  type GoldenStore,
  goldenContentRef,
  installGoldenContentCrd,
  startBackendProcess,
  startFastPathController,
  writeGoldenStore,
} from "./support/fastpath-harness.ts";
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
  stillThere,
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

const HOSTNAME = "kubernetes.io/hostname";
const ZONE = "topology.kubernetes.io/zone";

/** Whether a node is Ready and takes pods. */
const usable = (node: V1Node) =>
  !node.spec?.unschedulable &&
  node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true &&
  !node.spec?.taints?.some((t) => t.effect === "NoSchedule" || t.effect === "NoExecute");

/** The nodes a PV's node affinity allows, among `nodes`. */
function nodesAllowedBy(pv: V1PersistentVolume, nodes: readonly V1Node[]): string[] {
  const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? [];
  if (terms.length === 0) return nodes.map((n) => n.metadata?.name ?? "");
  return nodes
    .filter((node) =>
      terms.some((term) =>
        (term.matchExpressions ?? []).every((e) => {
          const value = node.metadata?.labels?.[e.key];
          if (e.operator === "In") return value !== undefined && (e.values ?? []).includes(value);
          if (e.operator === "NotIn") return value === undefined || !(e.values ?? []).includes(value);
          if (e.operator === "Exists") return value !== undefined;
          return value === undefined;
        }),
      ),
    )
    .map((n) => n.metadata?.name ?? "");
}

/**
 * Population where node placement matters, on three nodes or more (`pnpm cluster up --nodes 3`, which
 * the e2e tier starts; on a cluster of the user's, its usable nodes): WaitForFirstConsumer with a
 * pinned consumer and with zones, immediate binding following the provisioner's choice, a drained node
 * and, on the embedded cluster, a node whose kubelet stops mid-population.
 */
describe("several nodes", () => {
  let api: Kube;
  let populatorNs: string;
  let userNs: string;
  let running: RunningController;
  let pods: ReturnType<typeof watchPods>;
  let nodes: V1Node[] = [];
  const names = () => nodes.map((n) => n.metadata?.name ?? "");

  beforeAll(async () => {
    api = kube();
    nodes = (await api.core.listNode()).items
      .filter(usable)
      .sort((a, b) => String(a.metadata?.name).localeCompare(String(b.metadata?.name)));
    if (nodes.length < 3) return;
    populatorNs = await preparePopulator(api);
    userNs = await createTestNamespace(api, "multinode");
    running = await startController(api, populatorNs, {
      retryBaseDelayMs: 1000,
      maxAttempts: 5,
      podStartTimeoutMs: 120_000,
      progressIntervalMs: 2000,
    });
    pods = watchPods(api.config, populatorNs);
    await pods.start();
  });
  afterAll(async () => {
    pods?.stop();
    if (userNs) {
      await deleteNamespace(api, userNs);
      await waitForNamespaceGone(api, userNs).catch(() => undefined);
    }
    await running?.stop();
    if (populatorNs) await deleteNamespace(api, populatorNs);
  });

  const needsNodes = () => {
    if (nodes.length < 3) {
      throw new Error(
        `these tests need three usable nodes; the cluster has ${nodes.length} (embedded: pnpm cluster up --nodes 3)`,
      );
    }
  };

  async function populate(name: string, storageClassName: string, sleepSeconds = 0) {
    const contents = `populated ${name} at ${Date.now()}`;
    await createTestSource(api, userNs, name, { fileName: "data.txt", contents, sleepSeconds });
    const pvc = await createPvc(api, userNs, name, {
      storageClassName,
      volumeMode: "Filesystem",
      dataSourceRef: testSourceRef(name),
    });
    return { contents, uid: pvc.metadata?.uid ?? "" };
  }

  /** Reads the file back in a Job pinned to `node` (or placed by the scheduler); returns its log and node. */
  function readBack(pvcName: string, node?: string) {
    const reading = readBackNow(pvcName, node);
    // Started before the population it waits for; a failure elsewhere first must not go unhandled.
    reading.catch(() => undefined);
    return reading;
  }

  async function readBackNow(pvcName: string, node?: string) {
    const job = `read-${pvcName}`;
    const log = await runJob(api, userNs, job, {
      timeoutMs: 300_000,
      script: `cat ${JOB_MOUNT_PATH}/data.txt`,
      pvc: { claimName: pvcName, volumeMode: "Filesystem" },
      ...(node ? { nodeSelector: { [HOSTNAME]: node } } : {}),
    });
    const jobPods = await api.core.listNamespacedPod({ namespace: userNs, labelSelector: `job-name=${job}` });
    return { log, node: jobPods.items[0]?.spec?.nodeName };
  }

  async function boundVolume(pvcName: string) {
    const pvc = await waitForBound(api, userNs, pvcName);
    return api.core.readPersistentVolume({ name: pvc.spec?.volumeName ?? "" });
  }

  async function expectNothingLeft(uid: string) {
    await waitFor("PVC' and the populator pod to be removed", async () => {
      const left = await stillThere({
        "PVC'": api.core.readNamespacedPersistentVolumeClaim({
          name: `prime-${uid}`,
          namespace: populatorNs,
        }),
        pod: api.core.readNamespacedPod({ name: `populate-${uid}`, namespace: populatorNs }),
      });
      return left.length === 0 ? true : undefined;
    });
  }

  it("WaitForFirstConsumer: a consumer pinned to the second node gets PVC' and the populator pod there, and reads the data there", async () => {
    needsNodes();
    const target = names()[1] as string;
    const { contents, uid } = await populate("pinned", e2eSettings.waitForFirstConsumerStorageClass);
    const read = readBack("pinned", target);
    const pv = await boundVolume("pinned");
    expect(nodesAllowedBy(pv, nodes)).toContain(target);
    expect(pods.nodesOf(`populate-${uid}`)).toEqual([target]);
    expect(await read).toEqual({ log: contents, node: target });
    await expectNothingLeft(uid);
  });

  it("WaitForFirstConsumer with allowedTopologies: volume, populator pod and consumer all land in the allowed zone", async () => {
    needsNodes();
    const byZone = Map.groupBy(nodes, (n) => n.metadata?.labels?.[ZONE] ?? "");
    const zone = [...byZone.keys()].find((z) => z !== "" && (byZone.get(z)?.length ?? 0) < nodes.length);
    if (zone === undefined) throw new Error(`the nodes need ${ZONE} labels of at least two zones`);
    const inZone = (byZone.get(zone) ?? []).map((n) => n.metadata?.name ?? "");
    const base = await api.storage.readStorageClass({ name: e2eSettings.waitForFirstConsumerStorageClass });
    const className = `${userNs}-zone-${zone}`;
    await api.storage.createStorageClass({
      body: {
        metadata: { name: className },
        provisioner: base.provisioner,
        ...(base.parameters ? { parameters: base.parameters } : {}),
        reclaimPolicy: "Delete",
        volumeBindingMode: "WaitForFirstConsumer",
        allowedTopologies: [{ matchLabelExpressions: [{ key: ZONE, values: [zone] }] }],
      },
    });
    try {
      const { contents, uid } = await populate("zoned", className);
      const read = readBack("zoned");
      const pv = await boundVolume("zoned");
      const podNodes = pods.nodesOf(`populate-${uid}`);
      expect(podNodes).toHaveLength(1);
      expect(inZone).toContain(podNodes[0]);
      expect(nodesAllowedBy(pv, nodes).every((n) => inZone.includes(n))).toBe(true);
      const { log, node } = await read;
      expect(log).toBe(contents);
      expect(node).toBe(podNodes[0]);
      await expectNothingLeft(uid);
    } finally {
      await api.storage.deleteStorageClass({ name: className });
    }
  });

  it("Immediate binding: the populator pod follows the node affinity of the volume the provisioner made", async () => {
    needsNodes();
    const { contents, uid } = await populate("immediate", e2eSettings.immediateStorageClass);
    const pv = await boundVolume("immediate");
    const allowed = nodesAllowedBy(pv, nodes);
    const podNodes = pods.nodesOf(`populate-${uid}`);
    expect(podNodes).toHaveLength(1);
    expect(allowed).toContain(podNodes[0]);
    const read = await readBack("immediate");
    expect(read.log).toBe(contents);
    expect(allowed).toContain(read.node);
    await expectNothingLeft(uid);
  });

  it("a drained node holding a node-local volume: the populator pod waits with the scheduler's words, then finishes once the node is back", async () => {
    needsNodes();
    const { contents, uid } = await populate("drained", e2eSettings.immediateStorageClass, 30);
    const podName = `populate-${uid}`;
    const node = await waitFor("the populator pod to run", async () => {
      const pod = await api.core
        .readNamespacedPod({ name: podName, namespace: populatorNs })
        .catch(() => undefined);
      return pod?.status?.phase === "Running" ? pod.spec?.nodeName : undefined;
    });
    const pv = await api.core.readPersistentVolume({
      name:
        (await api.core.readNamespacedPersistentVolumeClaim({ name: `prime-${uid}`, namespace: populatorNs }))
          .spec?.volumeName ?? "",
    });
    const nodeLocal = nodesAllowedBy(pv, nodes).length === 1;
    // kubectl drain: cordon, then evict.
    const cordon = (unschedulable: boolean) =>
      api.core.patchNode(
        { name: node, body: { spec: { unschedulable } } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
    await cordon(true);
    try {
      await api.core.createNamespacedPodEviction({
        name: podName,
        namespace: populatorNs,
        body: {
          metadata: { name: podName, namespace: populatorNs },
          deleteOptions: { gracePeriodSeconds: 1 },
        },
      });
      if (nodeLocal) {
        const waiting = await waitFor("the PVC to say no node can run the populator pod", async () => {
          const events = await eventsFor(api, userNs, "drained");
          return events.find(
            (e) => e.reason === "PopulatorPodNotStarting" && /no node can run it/.test(e.message ?? ""),
          );
        });
        expect(waiting.type).toBe("Warning");
        expect(waiting.message).toMatch(/unschedulable/);
        const pvc = await api.core.readNamespacedPersistentVolumeClaim({
          name: "drained",
          namespace: userNs,
        });
        expect(pvc.status?.phase).toBe("Pending");
      }
    } finally {
      await cordon(false);
    }
    await waitForBound(api, userNs, "drained");
    expect(pods.instances(podName)).toBeGreaterThanOrEqual(2);
    if (nodeLocal) expect(new Set(pods.nodesOf(podName))).toEqual(new Set([node]));
    expect((await readBack("drained")).log).toBe(contents);
    await expectNothingLeft(uid);
  });

  it.skipIf(!inject("embeddedCluster"))(
    "a node whose kubelet stops mid-population: the PVC says the node may be down, and the population finishes when it is back",
    async () => {
      needsNodes();
      const target = clusterNodes().at(-1)?.name as string;
      const { contents, uid } = await populate("node-down", e2eSettings.waitForFirstConsumerStorageClass, 20);
      const read = readBack("node-down", target);
      const podName = `populate-${uid}`;
      await waitFor("the populator pod to run", async () => {
        const pod = await api.core
          .readNamespacedPod({ name: podName, namespace: populatorNs })
          .catch(() => undefined);
        return pod?.status?.phase === "Running" && pod.spec?.nodeName === target ? true : undefined;
      });
      const stopped = Date.now();
      await stopComponent(`kubelet@${target}`);
      try {
        // The node controller marks the node's pods not ready after its grace period (50 s).
        await waitFor(
          "the PVC to say the populator pod's node may be down",
          async () =>
            (await eventsFor(api, userNs, "node-down")).find(
              (e) => e.reason === "PopulatorPodNotReady" && e.message?.includes(`on node ${target}`),
            ),
          150_000,
          1000,
        );
      } finally {
        await startComponent(`kubelet@${target}`);
      }
      const downFor = Date.now() - stopped;
      await waitForBound(api, userNs, "node-down");
      expect(pods.instances(podName)).toBe(1);
      expect(await read).toEqual({ log: contents, node: target });
      await expectNothingLeft(uid);
      expect(downFor).toBeGreaterThan(20_000);
    },
  );
});

/**
 * The fast path with node-local backends, one per node as a DaemonSet runs them, each reaching only
 * its node's volumes: the backend on the PV's node is chosen and the others are never asked; with that
 * backend down the population falls back to a pod, which runs on that node.
 */
describe.skipIf(!inject("embeddedCluster"))("the fast path with a backend on every node", () => {
  let api: Kube;
  let populatorNs: string;
  let userNs: string;
  let work: string;
  let golden: GoldenStore;
  let pods: ReturnType<typeof watchPods>;
  let controller: RunningController | undefined;
  const backends = new Map<string, BackendProcess>();
  const nodes = clusterNodes();

  beforeAll(async () => {
    if (nodes.length < 3) return;
    api = kube();
    work = await mkdtemp(path.join(os.tmpdir(), "volpop-multinode-fastpath-e2e-"));
    golden = await writeGoldenStore(path.join(work, "golden"), 1);
    for (const node of nodes) {
      const backend = await startBackendProcess({
        socket: path.join(work, `run/${node.name}.sock`),
        stateDir: node.csiStateDir,
        goldenDir: golden.dir,
        nodeName: node.name,
      });
      backends.set(node.name, backend);
    }
    await installGoldenContentCrd(api);
    populatorNs = await createTestNamespace(api, "multinode-fastpath");
    // The fallback pod mounts the golden folder from its node: hostPath needs the privileged level,
    // and its non-root user must be able to read the tree.
    await api.core.patchNamespace(
      {
        name: populatorNs,
        body: { metadata: { labels: { "pod-security.kubernetes.io/enforce": "privileged" } } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    await chmod(work, 0o755);
    await chownTree(golden.dir, POPULATOR_UID);
    userNs = await createTestNamespace(api, "multinode-fastpath-user");
    pods = watchPods(api.config, populatorNs);
    await pods.start();
    const strategy = csiFastPathStrategy({
      backends: [...backends.values()].map((b) => ({ endpoint: b.endpoint })),
      pollIntervalMs: 200,
      infoRefreshMs: 1000,
    });
    controller = await startFastPathController(
      api,
      populatorNs,
      goldenContentPopulator({ goldenHostDir: golden.dir }),
      strategy,
      {},
      await publishProductImage("populator-csi-fastpath", embeddedRegistry),
    );
  });
  afterAll(async () => {
    pods?.stop();
    await controller?.stop();
    for (const backend of backends.values()) await backend.kill();
    if (userNs) await deleteNamespace(api, userNs);
    if (populatorNs) await deleteNamespace(api, populatorNs);
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** A GoldenContent PVC whose consumer is pinned to `node`; returns the PVC's uid and what the consumer read. */
  async function populateOn(name: string, node: string) {
    await createGoldenContent(api, userNs, name, "tree");
    const pvc = await createPvc(api, userNs, name, {
      storageClassName: e2eSettings.waitForFirstConsumerStorageClass,
      volumeMode: "Filesystem",
      dataSourceRef: goldenContentRef(name),
    });
    const read = await runJob(api, userNs, `read-${name}`, {
      script: `cd ${JOB_MOUNT_PATH} && find . -type f | sort | xargs sha256sum`,
      pvc: { claimName: name, volumeMode: "Filesystem" },
      nodeSelector: { [HOSTNAME]: node },
      timeoutMs: 240_000,
    });
    await waitForBound(api, userNs, name);
    return { uid: pvc.metadata?.uid ?? "", read };
  }

  /** The nodes whose backend logged work on the operation of `uid` (each logs its operations by id). */
  function backendsAsked(uid: string): string[] {
    return [...backends].filter(([, backend]) => backend.output().includes(uid)).map(([node]) => node);
  }

  it("chooses the backend on the PV's node and never asks the others", async () => {
    if (nodes.length < 3) throw new Error("needs `pnpm cluster up --nodes 3`");
    const target = nodes[1]?.name as string;
    const { uid, read } = await populateOn("fast", target);
    expect(read).toBe(await golden.checksums("tree"));
    expect(backendsAsked(uid)).toEqual([target]);
    const reasons = (await eventsFor(api, userNs, "fast")).map((e) => e.reason);
    expect(reasons).toContain("PopulatorFastPath");
    expect(reasons).not.toContain("PopulatorFastPathFallback");
    expect(pods.created().has(`populate-${uid}`)).toBe(false);
  });

  it("falls back to a pod on the PV's node, saying why, when that node's backend is down", async () => {
    if (nodes.length < 3) throw new Error("needs `pnpm cluster up --nodes 3`");
    const target = nodes[2]?.name as string;
    const down = backends.get(target);
    await down?.kill();
    // The controller learns it when it next asks its backends who they are (every second here). A
    // backend that dies after the fast path was chosen is retried, never handed to a pod that might
    // write beside an operation it accepted (docs/fastpath.md).
    await waitFor("the controller to see the backend down", async () =>
      controller?.controller
        .readyz()
        .some((check) => check.name.endsWith(String(down?.socket)) && check.reason?.startsWith("unavailable"))
        ? true
        : undefined,
    );
    const { uid, read } = await populateOn("fallback", target);
    expect(read).toBe(await golden.checksums("tree"));
    expect(pods.nodesOf(`populate-${uid}`)).toEqual([target]);
    const fallback = (await eventsFor(api, userNs, "fallback")).find(
      (e) => e.reason === "PopulatorFastPathFallback",
    );
    expect(fallback?.message).toMatch(
      /^Populating with a pod instead of the fast path: no fast-path backend for hostpath\.csi\.k8s\.io runs where PV /,
    );
    const metrics = await controller?.registry.getSingleMetricAsString("volpop_fastpath_decisions_total");
    expect(metrics).toContain(
      'volpop_fastpath_decisions_total{decision="fallback",reason="NodeNotServed"} 1',
    );
    expect(backendsAsked(uid)).toEqual([]);
  });
});
