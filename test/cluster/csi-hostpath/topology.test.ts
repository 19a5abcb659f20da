import { describe, expect, it } from "vitest";
import { isAccessibleFrom, nodeTopology, TOPOLOGY_KEY, topologyMatches } from "./topology.ts";

const here = { segments: { [TOPOLOGY_KEY]: "node-1" } };
const elsewhere = { segments: { [TOPOLOGY_KEY]: "node-2" } };

describe("topology", () => {
  it("describes the node by a single segment", () => {
    expect(nodeTopology("node-1")).toEqual(here);
  });

  it.each([
    ["no topology", null, true],
    ["an empty topology", { segments: {} }, true],
    ["this node", here, true],
    ["another node", elsewhere, false],
    ["a key this driver does not know", { segments: { "kubernetes.io/hostname": "node-1" } }, false],
  ])("topologyMatches %s: %s", (_, topology, expected) => {
    expect(topologyMatches(topology, "node-1")).toBe(expected);
  });

  it.each([
    ["no requirement", null, true],
    ["an empty requisite list", { requisite: [], preferred: [] }, true],
    ["this node among the requisite", { requisite: [elsewhere, here], preferred: [here] }, true],
    ["only other nodes requisite", { requisite: [elsewhere], preferred: [elsewhere] }, false],
  ])("isAccessibleFrom %s: %s", (_, requirement, expected) => {
    expect(isAccessibleFrom(requirement, "node-1")).toBe(expected);
  });
});
