/**
 * TypeScript shapes of the CSI messages in proto/csi.proto, as @grpc/proto-loader hands them over with
 * the options in proto.ts (snake_case keys, int64 as decimal strings, enums as names, defaults filled
 * in, a virtual field naming the set member of each oneof). Requests come from the network, so message
 * fields may be null and oneof members absent; responses are what handlers return (int64 may be given
 * as a number).
 */

export type StringMap = Record<string, string>;

export type AccessModeName =
  | "UNKNOWN"
  | "SINGLE_NODE_WRITER"
  | "SINGLE_NODE_READER_ONLY"
  | "MULTI_NODE_READER_ONLY"
  | "MULTI_NODE_SINGLE_WRITER"
  | "MULTI_NODE_MULTI_WRITER"
  | "SINGLE_NODE_SINGLE_WRITER"
  | "SINGLE_NODE_MULTI_WRITER";

export type MountVolume = { fs_type: string; mount_flags: string[]; volume_mount_group: string };

export type VolumeCapability = {
  block?: Record<string, never> | null;
  mount?: MountVolume | null;
  access_mode: { mode: AccessModeName } | null;
  access_type?: "block" | "mount";
};

export type CapacityRange = { required_bytes: string; limit_bytes: string };

export type Topology = { segments: StringMap };

export type TopologyRequirement = { requisite: Topology[]; preferred: Topology[] };

export type VolumeContentSource = {
  snapshot?: { snapshot_id: string } | null;
  volume?: { volume_id: string } | null;
  type?: "snapshot" | "volume";
};

export type Volume = {
  capacity_bytes: string | number;
  volume_id: string;
  volume_context: StringMap;
  accessible_topology: Topology[];
};

// ---- Identity ----

export type GetPluginInfoResponse = { name: string; vendor_version: string; manifest: StringMap };

export type PluginCapability = {
  service: { type: "CONTROLLER_SERVICE" | "VOLUME_ACCESSIBILITY_CONSTRAINTS" };
};

export type GetPluginCapabilitiesResponse = { capabilities: PluginCapability[] };

export type ProbeResponse = { ready: { value: boolean } };

// ---- Controller ----

export type CreateVolumeRequest = {
  name: string;
  capacity_range: CapacityRange | null;
  volume_capabilities: VolumeCapability[];
  parameters: StringMap;
  volume_content_source: VolumeContentSource | null;
  accessibility_requirements: TopologyRequirement | null;
};

export type CreateVolumeResponse = { volume: Volume };

export type DeleteVolumeRequest = { volume_id: string };

export type ValidateVolumeCapabilitiesRequest = {
  volume_id: string;
  volume_context: StringMap;
  volume_capabilities: VolumeCapability[];
  parameters: StringMap;
};

export type ValidateVolumeCapabilitiesResponse = {
  confirmed: {
    volume_context: StringMap;
    volume_capabilities: VolumeCapability[];
    parameters: StringMap;
  } | null;
  message: string;
};

export type GetCapacityRequest = {
  volume_capabilities: VolumeCapability[];
  parameters: StringMap;
  accessible_topology: Topology | null;
};

export type GetCapacityResponse = {
  available_capacity: string | number;
  maximum_volume_size: { value: string | number };
};

export type ControllerServiceCapability = { rpc: { type: "CREATE_DELETE_VOLUME" | "GET_CAPACITY" } };

export type ControllerGetCapabilitiesResponse = { capabilities: ControllerServiceCapability[] };

// ---- Node ----

export type NodePublishVolumeRequest = {
  volume_id: string;
  publish_context: StringMap;
  staging_target_path: string;
  target_path: string;
  volume_capability: VolumeCapability | null;
  readonly: boolean;
  volume_context: StringMap;
};

export type NodeUnpublishVolumeRequest = { volume_id: string; target_path: string };

export type NodeServiceCapability = { rpc: { type: "STAGE_UNSTAGE_VOLUME" } };

export type NodeGetCapabilitiesResponse = { capabilities: NodeServiceCapability[] };

export type NodeGetInfoResponse = {
  node_id: string;
  max_volumes_per_node: string | number;
  accessible_topology: Topology;
};

/** An empty request or response message. */
export type Empty = Record<string, never>;
