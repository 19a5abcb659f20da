import fs from "node:fs";
import path from "node:path";
import { clusterDir, csi, layout, network, ports, runDir } from "./config.ts";

/**
 * The cluster's kubelet nodes. The first is the single-node cluster as it always was: it lives in the
 * machine's own network namespace on `volpop0`'s address, with the folders of `layout`. Every further
 * node gets a network namespace of its own (a veth on `volpop0`), its own containerd (root, state,
 * socket), kubelet (root dir, cgroup root), kube-proxy (its own iptables), CSI driver and node-local
 * provisioner, and a /24 of the pod range that the machine routes to it.
 */
export interface ClusterNode {
  /** 1-based position; node 1 is the first node. */
  readonly index: number;
  readonly name: string;
  /** The node's InternalIP, on `volpop0` (node 1) or on the node's veth inside its namespace. */
  readonly ip: string;
  /** `topology.kubernetes.io/zone`: odd nodes in zone a, even ones in zone b. */
  readonly zone: "a" | "b";
  /** This node's slice of the pod range, handed out by its CNI bridge. */
  readonly podSubnet: string;
  /** Network namespace (`/run/netns/<name>`); undefined for node 1, which uses the machine's. */
  readonly netns: string | undefined;
  /** The host end of the node's veth (node 2 and later). */
  readonly hostVeth: string | undefined;
  /** cgroup below which the kubelet puts its pods; undefined: the root, as on a real node. */
  readonly cgroupRoot: string | undefined;
  readonly containerdRoot: string;
  readonly containerdState: string;
  readonly containerdSocket: string;
  readonly containerdConfig: string;
  readonly containerdHosts: string;
  readonly cniConfDir: string;
  readonly cniIpamDir: string;
  readonly kubeletRoot: string;
  readonly kubeletConfig: string;
  readonly kubeletVolumePlugins: string;
  /**
   * Where the kubelet writes pods' logs. A kubelet removes every pod folder there that is not one of
   * its pods: kubelets sharing `/var/log/pods` delete each other's logs.
   */
  readonly podLogsDir: string | undefined;
  readonly kubeProxyConfig: string;
  readonly csiStateDir: string;
  readonly csiSocket: string;
  readonly csiRegistrationDir: string;
  /** Where node-local processes answer health checks: loopback is private to a node's namespace. */
  readonly healthAddress: string;
}

/** The most nodes `up --nodes` starts: each costs ~150 MiB and a share of two cores. */
export const MAX_NODES = 5;

/** The process name of a node's component: `kubelet` on node 1, `kubelet@volpop-node-2` on node 2. */
export function processName(component: NodeComponent, node: ClusterNode): string {
  return node.index === 1 ? component : `${component}@${node.name}`;
}

export type NodeComponent = "containerd" | "csi-hostpath" | "kubelet" | "kube-proxy" | "csi-provisioner";

export function clusterNode(index: number): ClusterNode {
  if (!Number.isInteger(index) || index < 1 || index > MAX_NODES) {
    throw new RangeError(`node index ${index} is outside 1..${MAX_NODES}`);
  }
  const zone = index % 2 === 1 ? "a" : "b";
  const podSubnet = `10.88.${index - 1}.0/24`;
  if (index === 1) {
    return {
      index,
      name: network.nodeName,
      ip: network.nodeIP,
      zone,
      podSubnet,
      netns: undefined,
      hostVeth: undefined,
      cgroupRoot: undefined,
      containerdRoot: layout.containerdRoot,
      containerdState: layout.containerdState,
      containerdSocket: layout.containerdSocket,
      containerdConfig: layout.containerdConfig,
      containerdHosts: layout.containerdHosts,
      cniConfDir: layout.cniConfDir,
      cniIpamDir: layout.cniIpamDir,
      kubeletRoot: layout.kubeletRoot,
      kubeletConfig: layout.kubeletConfig,
      kubeletVolumePlugins: path.join(clusterDir, "kubelet-volume-plugins"),
      podLogsDir: undefined,
      kubeProxyConfig: layout.kubeProxyConfig,
      csiStateDir: layout.csiStateDir,
      csiSocket: csi.socket,
      csiRegistrationDir: csi.registrationDir,
      healthAddress: "127.0.0.1",
    };
  }
  const name = `${network.nodeName}-${index}`;
  const home = path.join(clusterDir, "nodes", name);
  const run = path.join(runDir, "nodes", name);
  const kubeletRoot = path.join(home, "kubelet");
  const ip = `10.254.254.${index}`;
  return {
    index,
    name,
    ip,
    zone,
    podSubnet,
    netns: name,
    hostVeth: `volpop-veth${index}`,
    cgroupRoot: `/${name}`,
    containerdRoot: path.join(home, "containerd"),
    containerdState: path.join(run, "containerd"),
    containerdSocket: path.join(run, "containerd", "containerd.sock"),
    containerdConfig: path.join(home, "containerd.toml"),
    containerdHosts: path.join(home, "containerd-hosts"),
    cniConfDir: path.join(home, "cni", "net.d"),
    cniIpamDir: path.join(home, "cni", "ipam"),
    kubeletRoot,
    kubeletConfig: path.join(home, "kubelet-config.yaml"),
    kubeletVolumePlugins: path.join(home, "kubelet-volume-plugins"),
    podLogsDir: path.join(home, "pod-logs"),
    kubeProxyConfig: path.join(home, "kube-proxy-config.yaml"),
    csiStateDir: path.join(home, "csi-hostpath"),
    csiSocket: path.join(kubeletRoot, "plugins", csi.driverName, "csi.sock"),
    csiRegistrationDir: path.join(kubeletRoot, "plugins_registry"),
    healthAddress: ip,
  };
}

/** Nodes 1..count. */
export function clusterNodes(count = recordedNodeCount()): ClusterNode[] {
  return Array.from({ length: count }, (_, i) => clusterNode(i + 1));
}

/** The registry as node 2 and later reach it: loopback is their own, so through `volpop0`. */
export const registryForNodes = `${network.nodeIP}:${ports.registry}`;

const nodeCountFile = () => path.join(clusterDir, "nodes.json");

/** Remembers how many nodes `up` started, so that `status`, `down` and tests agree on it. */
export function recordNodeCount(count: number): void {
  fs.mkdirSync(clusterDir, { recursive: true });
  fs.writeFileSync(nodeCountFile(), `${JSON.stringify({ nodes: count })}\n`);
}

/** How many nodes the running (or last started) cluster has; 1 when none was recorded. */
export function recordedNodeCount(): number {
  try {
    const { nodes } = JSON.parse(fs.readFileSync(nodeCountFile(), "utf8")) as { nodes?: unknown };
    return typeof nodes === "number" && Number.isInteger(nodes) && nodes >= 1 && nodes <= MAX_NODES
      ? nodes
      : 1;
  } catch {
    return 1;
  }
}

/** Parses `--nodes`: a whole number 1..MAX_NODES in plain digits, with an error that says so otherwise. */
export function parseNodeCount(value: string): number {
  const count = /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(count) || count < 1 || count > MAX_NODES) {
    throw new RangeError(`--nodes ${JSON.stringify(value)}: give a whole number from 1 to ${MAX_NODES}`);
  }
  return count;
}
