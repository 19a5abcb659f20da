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

/** Removes the nodes' namespaces (their veths and routes go with them), then the bridges. */
export async function tearDownNodeNetwork(): Promise<void> {
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
