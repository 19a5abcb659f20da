import fs from "node:fs";
import * as components from "./components.ts";
import type { ProcessSpec } from "./processes.ts";

// CGROUP2_SUPER_MAGIC: /sys/fs/cgroup is a cgroup2 mount only on unified (v2) hosts.
const CGROUP2_MAGIC = 0x63677270;

export function cgroupV1(): boolean {
  return fs.statfsSync("/sys/fs/cgroup").type !== CGROUP2_MAGIC;
}

/** Every host process in start order; `down` stops them in reverse. */
export function clusterProcesses(): ProcessSpec[] {
  return [
    components.etcd(),
    components.apiserver(),
    components.controllerManager(),
    components.scheduler(),
    components.imageRegistry(),
    components.containerd(),
    components.csiDriver(),
    components.kubelet(cgroupV1()),
    components.kubeProxy(),
    components.csiProvisioner(),
  ];
}
