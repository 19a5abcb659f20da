import fs from "node:fs";
import { network } from "./config.ts";
import { run } from "./exec.ts";

/**
 * The node's address lives on an interface of its own, so the API server, kubelet and NodePorts listen
 * only there and nothing listens on the machine's real interfaces; pods reach it through their default
 * route. It is an empty bridge because these kernels lack the dummy driver, and not the CNI bridge,
 * which the bridge plugin insists on owning the addresses of.
 */
export async function setUpNodeNetwork(): Promise<void> {
  if (!(await linkExists(network.nodeInterface))) {
    await run("ip", ["link", "add", network.nodeInterface, "type", "bridge"]);
  }
  await run("ip", ["addr", "replace", `${network.nodeIP}/32`, "dev", network.nodeInterface]);
  await run("ip", ["link", "set", network.nodeInterface, "up"]);
  // Pods reach Services and the node through the host: forwarding and bridge netfilter must be on.
  writeSysctl("net/ipv4/ip_forward", "1");
  writeSysctl("net/bridge/bridge-nf-call-iptables", "1");
}

export async function tearDownNodeNetwork(): Promise<void> {
  for (const link of new Set([network.bridge, network.nodeInterface])) {
    if (await linkExists(link)) await run("ip", ["link", "delete", link]);
  }
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
