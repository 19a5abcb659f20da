/** What the driver knows about one volume, and where its data lives on the host. */

import { join } from "node:path";
import type { Volume } from "./messages.ts";
import { nodeTopology } from "./topology.ts";

/** "filesystem" volumes are directories; "block" volumes are sparse image files attached to loop devices. */
export type VolumeKind = "filesystem" | "block";

export type VolumeRecord = {
  /** The CSI volume id: a UUID the driver generated. */
  id: string;
  /** Size in bytes, a whole number of MiB. Enforced for block volumes only (the image file size). */
  capacity: number;
  kind: VolumeKind;
};

/** `<stateDir>/<id>` for a filesystem volume, `<stateDir>/<id>.img` for a block volume. */
export function volumeDataPath(stateDir: string, id: string, kind: VolumeKind): string {
  return kind === "filesystem" ? join(stateDir, id) : join(stateDir, `${id}.img`);
}

/** The CSI Volume message for a record: accessible from this node only. */
export function toCsiVolume(record: VolumeRecord, nodeId: string, zone?: string): Volume {
  return {
    capacity_bytes: record.capacity,
    volume_id: record.id,
    volume_context: { kind: record.kind },
    accessible_topology: [nodeTopology(nodeId, zone)],
  };
}
