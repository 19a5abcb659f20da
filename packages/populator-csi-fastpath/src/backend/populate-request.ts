import {
  BackendRpcError,
  GrpcCode,
  type PopulateRequest,
  PROTOCOL_LIMITS,
  VolumeMode,
} from "@volpop/sdk/fastpath";
import { checkGoldenContentSpec } from "../golden-content.ts";
import { locateVolume, VolumeHandleError, type VolumeLocation } from "../volume-path.ts";
import { RpcReason } from "./reasons.ts";

/** What a backend serves; anything else is UNIMPLEMENTED, so the controller falls back to pods. */
export interface Served {
  readonly csiDriver: string;
  readonly sourceKinds: readonly { readonly group: string; readonly kind: string }[];
}

/** A Populate request every field of which has been checked. */
export interface CheckedRequest {
  readonly operationId: string;
  readonly attempt: number;
  readonly volumeHandle: string;
  readonly volumeMode: "Filesystem" | "Block";
  readonly capacityBytes: number;
  readonly volume: VolumeLocation;
}

/** CSI limits driver names to 63 characters. */
const CSI_DRIVER_NAME_BYTES = 63;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is its purpose
const CONTROL = /[\u0000-\u001f\u007f]/;

const invalid = (reason: string, message: string, field: string) =>
  new BackendRpcError(GrpcCode.INVALID_ARGUMENT, reason, message, field);

/**
 * Checks a Populate request, cheapest and most general first: the protocol's limits (INVALID_ARGUMENT),
 * then whether it is ours to serve (UNIMPLEMENTED), then the volume handle's format, which only makes
 * sense for our own driver. The source's content is checked later ({@link goldenContentName}), once the
 * volume is known to exist: a backend says NOT_FOUND for a volume it does not manage whatever the source.
 */
export function checkPopulateRequest(
  request: PopulateRequest,
  served: Served,
  stateDir: string,
): CheckedRequest {
  const { operationId, volumeHandle } = request;
  requireText(operationId, "operation_id", PROTOCOL_LIMITS.operationIdBytes);
  if (CONTROL.test(operationId)) {
    throw invalid(
      RpcReason.InvalidOperationId,
      "operation_id must not contain control characters",
      "operation_id",
    );
  }
  if (!Number.isSafeInteger(request.attempt) || request.attempt < 1) {
    throw invalid(RpcReason.MissingField, "attempt counts from 1", "attempt");
  }
  requireText(request.csiDriver, "csi_driver", CSI_DRIVER_NAME_BYTES);
  requireText(volumeHandle, "volume_handle", PROTOCOL_LIMITS.volumeHandleBytes);
  checkMap(request.volumeAttributes, "volume_attributes");
  checkMap(request.parameters, "parameters");
  if (!Number.isSafeInteger(request.capacityBytes) || request.capacityBytes <= 0) {
    throw invalid(
      RpcReason.InvalidCapacity,
      "capacity_bytes must be a positive number of bytes",
      "capacity_bytes",
    );
  }
  if (request.volumeMode === VolumeMode.VOLUME_MODE_UNSPECIFIED) {
    throw invalid(RpcReason.MissingField, "volume_mode is required", "volume_mode");
  }
  const kind = request.sourceKind;
  if (!kind?.kind) throw invalid(RpcReason.MissingField, "source_kind is required", "source_kind");
  requireText(kind.group, "source_kind.group", 253, { allowEmpty: true });
  requireText(kind.kind, "source_kind.kind", 63);
  requireText(request.sourceJson, "source_json", PROTOCOL_LIMITS.sourceJsonBytes);

  if (request.csiDriver !== served.csiDriver) {
    throw new BackendRpcError(
      GrpcCode.UNIMPLEMENTED,
      RpcReason.UnsupportedCsiDriver,
      `this backend fills volumes of ${served.csiDriver}, not ${request.csiDriver}`,
      "csi_driver",
    );
  }
  if (!served.sourceKinds.some((s) => s.group === kind.group && s.kind === kind.kind)) {
    throw new BackendRpcError(
      GrpcCode.UNIMPLEMENTED,
      RpcReason.UnsupportedSourceKind,
      `this backend does not fill volumes from ${kind.kind}.${kind.group}`,
      "source_kind",
    );
  }
  const volumeMode = modeOf(request.volumeMode);
  if (volumeMode === undefined) {
    throw new BackendRpcError(
      GrpcCode.UNIMPLEMENTED,
      RpcReason.UnsupportedVolumeMode,
      `volume mode ${request.volumeMode} is not served`,
      "volume_mode",
    );
  }

  let volume: VolumeLocation;
  try {
    volume = locateVolume(stateDir, volumeHandle);
  } catch (error) {
    if (error instanceof VolumeHandleError) {
      throw invalid(RpcReason.InvalidVolumeHandle, error.message, "volume_handle");
    }
    throw error;
  }
  return {
    operationId,
    attempt: request.attempt,
    volumeHandle,
    volumeMode,
    capacityBytes: request.capacityBytes,
    volume,
  };
}

/** The golden content a request's source names (`spec.content` of a GoldenContent). */
export function goldenContentName(sourceJson: string): string {
  let source: unknown;
  try {
    source = JSON.parse(sourceJson);
  } catch {
    throw invalid(RpcReason.InvalidSource, "source_json is not JSON", "source_json");
  }
  if (typeof source !== "object" || source === null || Array.isArray(source)) {
    throw invalid(RpcReason.InvalidSource, "source_json is not a JSON object", "source_json");
  }
  const check = checkGoldenContentSpec((source as { spec?: unknown }).spec);
  if (!check.ok) throw invalid(RpcReason.InvalidSource, check.problems.join("; "), "source_json");
  return check.spec.content;
}

function modeOf(mode: VolumeMode): "Filesystem" | "Block" | undefined {
  if (mode === VolumeMode.VOLUME_MODE_FILESYSTEM) return "Filesystem";
  if (mode === VolumeMode.VOLUME_MODE_BLOCK) return "Block";
  return undefined;
}

function requireText(value: string, field: string, maxBytes: number, options: { allowEmpty?: boolean } = {}) {
  if (value === "" && !options.allowEmpty)
    throw invalid(RpcReason.MissingField, `${field} is required`, field);
  if (Buffer.byteLength(value, "utf8") > maxBytes) {
    throw invalid(RpcReason.FieldTooLong, `${field} is longer than ${maxBytes} bytes`, field);
  }
}

function checkMap(map: Readonly<Record<string, string>>, field: string) {
  const entries = Object.entries(map);
  if (entries.length > PROTOCOL_LIMITS.mapEntries) {
    throw invalid(
      RpcReason.TooManyEntries,
      `${field} has more than ${PROTOCOL_LIMITS.mapEntries} entries`,
      field,
    );
  }
  for (const [key, value] of entries) {
    if (Buffer.byteLength(key, "utf8") > PROTOCOL_LIMITS.mapValueBytes) {
      throw invalid(
        RpcReason.FieldTooLong,
        `a key of ${field} is longer than ${PROTOCOL_LIMITS.mapValueBytes} bytes`,
        field,
      );
    }
    if (Buffer.byteLength(value, "utf8") > PROTOCOL_LIMITS.mapValueBytes) {
      throw invalid(
        RpcReason.FieldTooLong,
        `${field}[${JSON.stringify(key.slice(0, 64))}] is longer than ${PROTOCOL_LIMITS.mapValueBytes} bytes`,
        field,
      );
    }
  }
}
