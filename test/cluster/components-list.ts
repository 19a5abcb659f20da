import fs from "node:fs";
import * as components from "./components.ts";
import { type ClusterNode, clusterNodes } from "./nodes.ts";
import type { ProcessSpec } from "./processes.ts";

// CGROUP2_SUPER_MAGIC: /sys/fs/cgroup is a cgroup2 mount only on unified (v2) hosts.
const CGROUP2_MAGIC = 0x63677270;

export function cgroupV1(): boolean {
  return fs.statfsSync("/sys/fs/cgroup").type !== CGROUP2_MAGIC;
}

/** The control plane's processes (and the registry), in start order. */
export function controlPlaneProcesses(nodes: readonly ClusterNode[]): ProcessSpec[] {
  return [
    components.etcd(),
    components.apiserver(),
    components.controllerManager(),
    components.scheduler(),
    components.imageRegistry(),
    ...(nodes.length > 1 ? [components.registryRelay()] : []),
  ];
}

/** One node's processes in start order (its provisioner comes later, once the StorageClasses exist). */
export function nodeProcesses(node: ClusterNode): ProcessSpec[] {
  return [
    components.containerd(node),
    components.csiDriver(node),
    components.kubelet(cgroupV1(), node),
    components.kubeProxy(node),
  ];
}

/** The provisioners: one for a single node, one per node when volumes are node-local. */
export function provisionerProcesses(nodes: readonly ClusterNode[]): ProcessSpec[] {
  return nodes.length === 1
    ? [components.csiProvisioner(nodes[0])]
    : nodes.map((node) => components.csiProvisioner(node, true));
}

/** Every host process in start order; `down` stops them in reverse. */
export function clusterProcesses(nodes: readonly ClusterNode[] = clusterNodes()): ProcessSpec[] {
  return [...controlPlaneProcesses(nodes), ...nodes.flatMap(nodeProcesses), ...provisionerProcesses(nodes)];
}
