import { describe, expect, it } from "vitest";
import { layout, network } from "./config.ts";
import { clusterNode, clusterNodes, MAX_NODES, parseNodeCount, processName } from "./nodes.ts";

describe("cluster nodes", () => {
  it("keeps the first node as the single-node cluster always was: the machine's namespace, layout's folders", () => {
    const first = clusterNode(1);
    expect(first).toMatchObject({
      name: network.nodeName,
      ip: network.nodeIP,
      netns: undefined,
      cgroupRoot: undefined,
      containerdSocket: layout.containerdSocket,
      kubeletRoot: layout.kubeletRoot,
      csiStateDir: layout.csiStateDir,
      healthAddress: "127.0.0.1",
    });
    expect(processName("kubelet", first)).toBe("kubelet");
  });

  it("gives every further node its own namespace, address, pod subnet, cgroup and folders", () => {
    const nodes = clusterNodes(MAX_NODES);
    const distinct = (pick: (n: (typeof nodes)[number]) => unknown) => new Set(nodes.map(pick)).size;
    for (const pick of [
      (n: (typeof nodes)[number]) => n.name,
      (n: (typeof nodes)[number]) => n.ip,
      (n: (typeof nodes)[number]) => n.podSubnet,
      (n: (typeof nodes)[number]) => n.containerdSocket,
      (n: (typeof nodes)[number]) => n.containerdRoot,
      (n: (typeof nodes)[number]) => n.kubeletRoot,
      (n: (typeof nodes)[number]) => n.csiSocket,
      (n: (typeof nodes)[number]) => n.csiStateDir,
      (n: (typeof nodes)[number]) => n.cniIpamDir,
      (n: (typeof nodes)[number]) => n.podLogsDir ?? "/var/log/pods",
    ]) {
      expect(distinct(pick)).toBe(nodes.length);
    }
    expect(clusterNode(2)).toMatchObject({
      name: `${network.nodeName}-2`,
      ip: "10.254.254.2",
      podSubnet: "10.88.1.0/24",
      netns: `${network.nodeName}-2`,
      cgroupRoot: `/${network.nodeName}-2`,
      zone: "b",
      healthAddress: "10.254.254.2",
    });
    expect(processName("kubelet", clusterNode(2))).toBe(`kubelet@${network.nodeName}-2`);
  });

  it("puts odd nodes in zone a and even ones in zone b", () => {
    expect(clusterNodes(3).map((n) => n.zone)).toEqual(["a", "b", "a"]);
  });

  it("keeps every socket path within the 107 bytes a unix socket address holds", () => {
    for (const node of clusterNodes(MAX_NODES)) {
      for (const socket of [node.containerdSocket, node.csiSocket]) {
        expect(Buffer.byteLength(socket), socket).toBeLessThanOrEqual(107);
      }
      expect(node.hostVeth?.length ?? 0, "interface names have at most 15 bytes").toBeLessThanOrEqual(15);
    }
  });

  it.each([
    ["1", 1],
    ["3", 3],
    [" 2 ", 2],
  ])("reads --nodes %j as %d", (value, count) => {
    expect(parseNodeCount(value)).toBe(count);
  });

  it.each(["", "0", "-1", "2.5", "3.0", "+3", "0x3", "many", String(MAX_NODES + 1)])(
    "refuses --nodes %j with the range it takes",
    (value) => {
      expect(() => parseNodeCount(value)).toThrow(
        `--nodes ${JSON.stringify(value)}: give a whole number from 1 to ${MAX_NODES}`,
      );
    },
  );
});
