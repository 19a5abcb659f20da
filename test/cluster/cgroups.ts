import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseMountInfo } from "./csi-hostpath/mountinfo.ts";

/**
 * Each further node's kubelet keeps its pods below a cgroup of its own (`cgroupRoot`), as kubelets of
 * different machines would: two kubelets sharing `/kubepods` would each enforce node allocatable on,
 * and garbage-collect, the other's pods. The kubelet requires that root to exist in every hierarchy.
 */

/** Mount points of the cgroup hierarchies (v1: one per controller set; v2: the unified one). */
function hierarchies(): { point: string; version: 1 | 2 }[] {
  return parseMountInfo(fs.readFileSync("/proc/self/mountinfo", "utf8"))
    .filter((m) => m.fsType === "cgroup" || m.fsType === "cgroup2")
    .map((m) => ({ point: m.mountPoint, version: m.fsType === "cgroup2" ? (2 as const) : (1 as const) }));
}

export function createCgroupRoot(root: string): void {
  for (const { point, version } of hierarchies()) {
    const dir = path.join(point, root);
    fs.mkdirSync(dir, { recursive: true });
    if (version === 2) {
      // Hand the controllers on, so that the kubelet's child cgroups can use them.
      const enabled = readOr(path.join(point, "cgroup.subtree_control"), "")
        .trim()
        .split(/\s+/)
        .filter(Boolean);
      if (enabled.length > 0) {
        fs.writeFileSync(path.join(dir, "cgroup.subtree_control"), enabled.map((c) => `+${c}`).join(" "));
      }
    } else if (fs.existsSync(path.join(point, "cpuset.cpus"))) {
      // A new v1 cpuset has no CPUs and no memory nodes: nothing could run in it.
      for (const file of ["cpuset.cpus", "cpuset.mems"]) {
        if (readOr(path.join(dir, file), "").trim() === "") {
          fs.writeFileSync(path.join(dir, file), readOr(path.join(point, file), ""));
        }
      }
    }
  }
}

/**
 * Removes the cgroup and everything below it, deepest first. Processes still in it (containers whose
 * containerd died before `down` could remove them) are killed first: a cgroup with members cannot be
 * removed, and its node's network namespace would live on through them.
 */
export async function removeCgroupRoot(root: string, timeoutMs = 5000): Promise<string[]> {
  killMembers(root);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left: string[] = [];
    for (const { point } of hierarchies()) {
      const top = path.join(point, root);
      if (!fs.existsSync(top)) continue;
      for (const dir of subdirectoriesDeepestFirst(top)) {
        try {
          fs.rmdirSync(dir);
        } catch {
          left.push(dir);
        }
      }
    }
    // Killed processes take a moment to leave their cgroup.
    if (left.length === 0 || Date.now() > deadline) return left;
    await sleep(200);
  }
}

function killMembers(root: string): void {
  for (const { point } of hierarchies()) {
    const top = path.join(point, root);
    if (!fs.existsSync(top)) continue;
    for (const dir of subdirectoriesDeepestFirst(top)) {
      for (const pid of readOr(path.join(dir, "cgroup.procs"), "").split("\n").filter(Boolean)) {
        try {
          process.kill(Number(pid), "SIGKILL");
        } catch {
          // Gone meanwhile.
        }
      }
    }
  }
}

function subdirectoriesDeepestFirst(top: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(path.join(dir, entry.name));
    }
    found.push(dir);
  };
  walk(top);
  return found;
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return fallback;
  }
}
