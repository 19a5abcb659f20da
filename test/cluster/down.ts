import fs from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { clusterDir, layout, runDir } from "./config.ts";
import { run } from "./exec.ts";
import { step } from "./log.ts";
import { detachLoopDevicesUnder, loopDevicesUnder, mountsUnder, unmountAll } from "./mounts.ts";
import { tearDownNodeNetwork } from "./network.ts";
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
  // The kubelet first, so that nothing restarts the pods we remove next.
  for (const name of ["csi-provisioner", "kube-proxy", "kubelet"]) await stopProcess(name);
  if (runningPid("containerd") !== undefined) {
    say("removing pod sandboxes and containers");
    await removeAllPods();
  }
  for (const name of [
    "containerd",
    "csi-hostpath",
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
  // kube-proxy's iptables chains outlive it; its own cleanup mode removes them.
  const kubeProxy = layout.bin("kubernetes", "kube-proxy");
  if (fs.existsSync(kubeProxy)) await run(kubeProxy, ["--cleanup"], { allowFailure: true });
  await unmountAll([clusterDir, runDir]);
  await detachLoopDevicesUnder(layout.csiStateDir);
  await tearDownNodeNetwork();
  const leftMounts = mountsUnder([clusterDir, runDir]);
  const leftLoops = await loopDevicesUnder(layout.csiStateDir);
  if (leftMounts.length > 0 || leftLoops.length > 0) {
    // Never delete state while something is still mounted from it: rm would reach through the mount.
    throw new Error(
      `could not release ${[...leftMounts, ...leftLoops].join(", ")}; state left in ${clusterDir}`,
    );
  }
  fs.rmSync(clusterDir, { recursive: true, force: true });
  fs.rmSync(runDir, { recursive: true, force: true });
  say("cluster is down: no processes, mounts, loop devices or network devices left");
}

const crictl = () =>
  [
    layout.bin("crictl", "crictl"),
    `--runtime-endpoint=unix://${layout.containerdSocket}`,
    "--timeout=30s",
  ] as const;

async function removeAllPods(): Promise<void> {
  const [bin, ...base] = crictl();
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
