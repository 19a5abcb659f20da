/** Small builders for CSI request messages, shaped as proto-loader decodes them. Used by the tests. */

import type {
  AccessModeName,
  CreateVolumeRequest,
  NodePublishVolumeRequest,
  VolumeCapability,
} from "./messages.ts";

export function mountCapability(mode: AccessModeName = "SINGLE_NODE_WRITER"): VolumeCapability {
  return {
    mount: { fs_type: "", mount_flags: [], volume_mount_group: "" },
    access_mode: { mode },
    access_type: "mount",
  };
}

export function blockCapability(mode: AccessModeName = "SINGLE_NODE_WRITER"): VolumeCapability {
  return { block: {}, access_mode: { mode }, access_type: "block" };
}

export function createVolumeRequest(overrides: Partial<CreateVolumeRequest> = {}): CreateVolumeRequest {
  return {
    name: "pvc-0d6f4b52",
    capacity_range: null,
    volume_capabilities: [mountCapability()],
    parameters: {},
    volume_content_source: null,
    accessibility_requirements: null,
    ...overrides,
  };
}

export function publishRequest(overrides: Partial<NodePublishVolumeRequest> = {}): NodePublishVolumeRequest {
  return {
    volume_id: "",
    publish_context: {},
    staging_target_path: "",
    target_path: "",
    volume_capability: mountCapability(),
    readonly: false,
    volume_context: {},
    ...overrides,
  };
}
