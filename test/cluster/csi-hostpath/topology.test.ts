import { describe, expect, it } from "vitest";
import { isAccessibleFrom, nodeTopology, TOPOLOGY_KEY, topologyMatches, ZONE_KEY } from "./topology.ts";

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

  describe("with a zone", () => {
    const zoneB = { segments: { [ZONE_KEY]: "b" } };
    const zoneA = { segments: { [ZONE_KEY]: "a" } };

    it("adds the zone as a second segment", () => {
      expect(nodeTopology("node-2", "b")).toEqual({
        segments: { [TOPOLOGY_KEY]: "node-2", [ZONE_KEY]: "b" },
      });
    });

    it.each([
      ["its zone alone (a StorageClass's allowedTopologies)", zoneB, true],
      ["another zone", zoneA, false],
      ["its node and zone", { segments: { [TOPOLOGY_KEY]: "node-2", [ZONE_KEY]: "b" } }, true],
      ["its zone but another node", { segments: { [TOPOLOGY_KEY]: "node-3", [ZONE_KEY]: "b" } }, false],
    ])("topologyMatches %s: %s", (_, topology, expected) => {
      expect(topologyMatches(topology, "node-2", "b")).toBe(expected);
    });

    it("is refused a zone requirement when it reports no zone", () => {
      expect(isAccessibleFrom({ requisite: [zoneB], preferred: [] }, "node-2")).toBe(false);
      expect(isAccessibleFrom({ requisite: [zoneA, zoneB], preferred: [] }, "node-2", "b")).toBe(true);
    });
  });
});
