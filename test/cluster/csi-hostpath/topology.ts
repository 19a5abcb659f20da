/**
 * Topology: every volume lives on the node that runs the driver, so its segment is
 * `topology.hostpath.csi/node = <node id>` (and the node's zone when given one). kubelet copies it onto the Node's labels and the CSINode
 * object; external-provisioner passes the topologies it allows in CreateVolume.
 */

import type { Topology, TopologyRequirement } from "./messages.ts";

export const TOPOLOGY_KEY = "topology.hostpath.csi/node";
/** The well-known zone label, reported when the driver is given `--zone`. */
export const ZONE_KEY = "topology.kubernetes.io/zone";

export function nodeTopology(nodeId: string, zone?: string): Topology {
  return { segments: { [TOPOLOGY_KEY]: nodeId, ...(zone === undefined ? {} : { [ZONE_KEY]: zone }) } };
}

/** True when every segment of `topology` holds on this node (an empty or missing topology holds anywhere). */
export function topologyMatches(
  topology: Topology | null | undefined,
  nodeId: string,
  zone?: string,
): boolean {
  const segments = topology?.segments ?? {};
  const ours = nodeTopology(nodeId, zone).segments;
  return Object.entries(segments).every(([key, value]) => ours[key] === value);
}

/**
 * True when a volume on this node satisfies the CreateVolume accessibility requirements: no
 * requirement, or this node among the requisite topologies. `preferred` is a subset of `requisite` by
 * the spec, so it never narrows the choice further.
 */
export function isAccessibleFrom(
  requirement: TopologyRequirement | null | undefined,
  nodeId: string,
  zone?: string,
): boolean {
  const requisite = requirement?.requisite ?? [];
  if (requisite.length === 0) return true;
  return requisite.some((topology) => topologyMatches(topology, nodeId, zone));
}
