import fs from "node:fs";
import { network } from "./config.ts";
import { run } from "./exec.ts";
import type { ClusterNode } from "./nodes.ts";

/**
 * The node's address lives on an interface of its own, so the API server, kubelet and NodePorts listen
 * only there and nothing listens on the machine's real interfaces; pods reach it through their default
 * route. It is an empty bridge because these kernels lack the dummy driver, and not the CNI bridge,
 * which the bridge plugin insists on owning the addresses of.
 *
 * Further nodes hang off that bridge with a veth each, from a network namespace of their own: the
 * machine is their router (default route), and routes each node's pod /24 to the node's address, so
 * pods talk across nodes unmasqueraded, as with a flat routed pod network on real clusters.
 */
export async function setUpNodeNetwork(nodes: readonly ClusterNode[]): Promise<void> {
  if (!(await linkExists(network.nodeInterface))) {
    await run("ip", ["link", "add", network.nodeInterface, "type", "bridge"]);
  }
  // A /24 when other nodes share the bridge (they are on-link); a /32 alone, as it always was.
  const prefix = nodes.length > 1 ? 24 : 32;
  await run("ip", ["addr", "replace", `${network.nodeIP}/${prefix}`, "dev", network.nodeInterface]);
  await run("ip", ["link", "set", network.nodeInterface, "up"]);
  // Pods reach Services and the node through the host: forwarding and bridge netfilter must be on.
  writeSysctl("net/ipv4/ip_forward", "1");
  writeSysctl("net/bridge/bridge-nf-call-iptables", "1");
  for (const node of nodes) if (node.netns !== undefined) await setUpNamespacedNode(node);
  if (nodes.length > 1) await masqueradeNodesOutward();
}

/** Our own nat chain, so that `down` removes exactly what `up` added. */
const NAT_CHAIN = "VOLPOP-NODES";

/**
 * Traffic of further nodes to the world beyond this machine (their containerd's DNS lookups and
 * pulls) leaves with the machine's address: the network out there has no route back to the nodes'
 * private addresses. Between nodes, and to pods, addresses stay as they are.
 */
async function masqueradeNodesOutward(): Promise<void> {
  const nat = (...args: string[]) => run("iptables", ["-t", "nat", ...args], { allowFailure: true });
  await nat("-N", NAT_CHAIN);
  await nat("-F", NAT_CHAIN);
  for (const rule of [
    ["-o", network.nodeInterface, "-j", "RETURN"],
    ["-o", network.bridge, "-j", "RETURN"],
    ["-s", network.nodeSubnet, "-j", "MASQUERADE"],
  ]) {
    await run("iptables", ["-t", "nat", "-A", NAT_CHAIN, ...rule]);
  }
  if (!(await nat("-C", "POSTROUTING", "-j", NAT_CHAIN)).ok) {
    await run("iptables", ["-t", "nat", "-A", "POSTROUTING", "-j", NAT_CHAIN]);
  }
}

async function removeNodesMasquerade(): Promise<void> {
  const nat = (...args: string[]) => run("iptables", ["-t", "nat", ...args], { allowFailure: true });
  while ((await nat("-D", "POSTROUTING", "-j", NAT_CHAIN)).ok) {
    // A rule added twice (an `up` interrupted and run again) is removed twice.
  }
  await nat("-F", NAT_CHAIN);
  await nat("-X", NAT_CHAIN);
}

async function setUpNamespacedNode(node: ClusterNode): Promise<void> {
  const netns = node.netns as string;
  const veth = node.hostVeth as string;
  await run("ip", ["netns", "add", netns]);
  await run("ip", ["link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netns]);
  await run("ip", ["link", "set", veth, "master", network.nodeInterface, "up"]);
  const inNode = (...args: string[]) => run("ip", ["-n", netns, ...args]);
  await inNode("link", "set", "lo", "up");
  await inNode("addr", "add", `${node.ip}/24`, "dev", "eth0");
  await inNode("link", "set", "eth0", "up");
  await inNode("route", "add", "default", "via", network.nodeIP);
  // Sysctls under /proc/sys/net belong to the namespace of whoever writes them.
  for (const key of ["net/ipv4/ip_forward", "net/bridge/bridge-nf-call-iptables"]) {
    await run("ip", ["netns", "exec", netns, "sh", "-c", `echo 1 > /proc/sys/${key}`]);
  }
  await run("ip", ["route", "replace", node.podSubnet, "via", node.ip, "dev", network.nodeInterface]);
}

/** Removes our nat rules and the nodes' namespaces (their veths and routes go with them), then the bridges. */
export async function tearDownNodeNetwork(): Promise<void> {
  await removeNodesMasquerade();
  for (const netns of await nodeNamespaces()) await run("ip", ["netns", "delete", netns]);
  for (const link of new Set([network.bridge, network.nodeInterface])) {
    if (await linkExists(link)) await run("ip", ["link", "delete", link]);
  }
}

/** Network namespaces of ours, whether or not the node count was recorded (a half-finished `up`). */
export async function nodeNamespaces(): Promise<string[]> {
  const { stdout } = await run("ip", ["netns", "list"], { allowFailure: true });
  return stdout
    .split("\n")
    .map((line) => line.trim().split(/\s+/)[0] ?? "")
    .filter((name) => name.startsWith(`${network.nodeName}-`));
}

export async function linkExists(name: string): Promise<boolean> {
  return (await run("ip", ["link", "show", name], { allowFailure: true })).ok;
}

function writeSysctl(key: string, value: string): void {
  const file = `/proc/sys/${key}`;
  if (!fs.existsSync(file)) {
    throw new Error(
      `${file} is missing: the kernel needs ${key.includes("bridge") ? "br_netfilter" : "IPv4 forwarding"}`,
    );
  }
  if (fs.readFileSync(file, "utf8").trim() !== value) fs.writeFileSync(file, value);
}
