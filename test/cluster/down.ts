import fs from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { removeCgroupRoot } from "./cgroups.ts";
import { clusterDir, layout, runDir } from "./config.ts";
import { run } from "./exec.ts";
import { step } from "./log.ts";
import { detachLoopDevicesUnder, loopDevicesUnder, mountsUnder, unmountAll } from "./mounts.ts";
import { nodeNamespaces, tearDownNodeNetwork } from "./network.ts";
import {
  type ClusterNode,
  clusterNode,
  clusterNodes,
  MAX_NODES,
  type NodeComponent,
  processName,
} from "./nodes.ts";
import { runningPid, stopProcess, trackedNames } from "./processes.ts";

export interface DownOptions {
  /** Say nothing when there is nothing to stop (used by `up` to clear leftovers). */
  readonly quiet?: boolean;
}

/**
 * Stops every process `up` started, removes pods' sandboxes, mounts, loop devices, network devices and
 * iptables rules, and deletes the cluster's state. Safe to run at any point, any number of times.
 */
export async function down(options: DownOptions = {}): Promise<void> {
  const say = (message: string) => options.quiet || step(message);
  const nodes = await nodesToClear();
  const stopOnEveryNode = (components: readonly NodeComponent[]) =>
    Promise.all(
      nodes.map(async (node) => {
        for (const component of components) await stopProcess(processName(component, node));
      }),
    );
  // The kubelets first, so that nothing restarts the pods we remove next.
  await stopOnEveryNode(["csi-provisioner", "kube-proxy", "kubelet"]);
  for (const node of nodes) {
    if (runningPid(processName("containerd", node)) !== undefined) {
      say(`removing pod sandboxes and containers${nodes.length > 1 ? ` of ${node.name}` : ""}`);
      await removeAllPods(node);
    }
  }
  await stopOnEveryNode(["containerd", "csi-hostpath"]);
  for (const name of [
    "registry-relay",
    "registry",
    "kube-scheduler",
    "kube-controller-manager",
    "kube-apiserver",
    "etcd",
  ]) {
    if (runningPid(name) !== undefined) say(`stopping ${name}`);
    await stopProcess(name);
  }
  for (const name of trackedNames()) await stopProcess(name);
  await killStragglers();
  // Containers of a further node whose containerd died before their removal are still in its cgroup:
  // killed with it, before unmounting what they hold and deleting the network namespace they keep.
  const leftCgroups: string[] = [];
  for (const node of nodes) {
    if (node.cgroupRoot !== undefined) leftCgroups.push(...(await removeCgroupRoot(node.cgroupRoot)));
  }
  // kube-proxy's iptables chains outlive it; its own cleanup mode removes them.
  const kubeProxy = layout.bin("kubernetes", "kube-proxy");
  if (fs.existsSync(kubeProxy)) await run(kubeProxy, ["--cleanup"], { allowFailure: true });
  await unmountAll([clusterDir, runDir]);
  // Every node's volumes live below the cluster's state folder.
  await detachLoopDevicesUnder(clusterDir);
  await tearDownNodeNetwork();
  const leftMounts = mountsUnder([clusterDir, runDir]);
  const leftLoops = await loopDevicesUnder(clusterDir);
  if (leftMounts.length > 0 || leftLoops.length > 0) {
    // Never delete state while something is still mounted from it: rm would reach through the mount.
    throw new Error(
      `could not release ${[...leftMounts, ...leftLoops].join(", ")}; state left in ${clusterDir}`,
    );
  }
  if (leftCgroups.length > 0) throw new Error(`could not remove the cgroups ${leftCgroups.join(", ")}`);
  fs.rmSync(clusterDir, { recursive: true, force: true });
  fs.rmSync(runDir, { recursive: true, force: true });
  say("cluster is down: no processes, mounts, loop devices or network devices left");
}

/**
 * The nodes the last `up` recorded, and any whose namespace is still there (an `up` that stopped
 * half-way, before or after writing the count).
 */
async function nodesToClear(): Promise<ClusterNode[]> {
  const byName = new Map(clusterNodes().map((node) => [node.name, node]));
  const leftover = new Set(await nodeNamespaces());
  for (let index = 2; index <= MAX_NODES; index++) {
    const node = clusterNode(index);
    if (leftover.has(node.name) || runningPid(processName("kubelet", node)) !== undefined)
      byName.set(node.name, node);
  }
  return [...byName.values()];
}

const crictl = (node: ClusterNode) =>
  [
    layout.bin("crictl", "crictl"),
    `--runtime-endpoint=unix://${node.containerdSocket}`,
    "--timeout=30s",
  ] as const;

async function removeAllPods(node: ClusterNode): Promise<void> {
  const [bin, ...base] = crictl(node);
  if (!fs.existsSync(bin)) return;
  const { stdout } = await run(bin, [...base, "pods", "--quiet"], { allowFailure: true });
  for (const id of stdout.split("\n").filter(Boolean)) {
    await run(bin, [...base, "stopp", id], { allowFailure: true });
    await run(bin, [...base, "rmp", "--force", id], { allowFailure: true });
  }
}

/** Processes that still name our folders (container shims, a component whose pid file was lost). */
async function killStragglers(): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const pids = ourProcesses();
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, attempt < 10 ? "SIGTERM" : "SIGKILL");
      } catch {
        // Gone meanwhile.
      }
    }
    await sleep(300);
  }
}

function ourProcesses(): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid || pid === process.ppid) continue;
    let cmdline: string;
    try {
      cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8");
    } catch {
      continue;
    }
    if (cmdline.includes(clusterDir) || cmdline.includes(runDir)) found.push(pid);
  }
  return found;
}
