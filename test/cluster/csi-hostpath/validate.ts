/**
 * Checks of request fields that do not need the volume store: volume names and ids, target paths,
 * volume capabilities. Each returns the checked value or throws INVALID_ARGUMENT naming the field.
 */

import { isAbsolute, posix } from "node:path";
import { invalidArgument } from "./errors.ts";
import type { AccessModeName, VolumeCapability } from "./messages.ts";
import type { VolumeKind } from "./volume.ts";

/** The CSI spec's size limit for string fields. */
const MAX_STRING_BYTES = 128;

/** Volume ids are lowercase UUIDs as crypto.randomUUID() makes them: no path separators, no dots. */
const VOLUME_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const ACCESS_MODES: ReadonlySet<AccessModeName> = new Set<AccessModeName>([
  "SINGLE_NODE_WRITER",
  "SINGLE_NODE_READER_ONLY",
  "MULTI_NODE_READER_ONLY",
  "MULTI_NODE_SINGLE_WRITER",
  "MULTI_NODE_MULTI_WRITER",
  "SINGLE_NODE_SINGLE_WRITER",
  "SINGLE_NODE_MULTI_WRITER",
]);

/** The CreateVolume name: required, at most 128 bytes. */
export function requireVolumeName(name: string | null | undefined): string {
  if (!name) throw invalidArgument("name is required");
  if (Buffer.byteLength(name) > MAX_STRING_BYTES) {
    throw invalidArgument(`name is ${Buffer.byteLength(name)} bytes long; the limit is ${MAX_STRING_BYTES}`);
  }
  return name;
}

/** True for strings shaped like the volume ids this driver hands out. */
export function isVolumeId(id: string): boolean {
  return VOLUME_ID.test(id);
}

/** A volume id this driver could have made; anything else (paths, "..", other drivers' ids) is refused. */
export function requireVolumeId(id: string | null | undefined, field = "volume_id"): string {
  if (!id) throw invalidArgument(`${field} is required`);
  if (!isVolumeId(id)) {
    throw invalidArgument(
      `${field} ${JSON.stringify(id)} is not a volume id of this driver (expected a lowercase UUID)`,
    );
  }
  return id;
}

/** An absolute, normalised path (no "." or ".." segments, no doubled or trailing slashes), not "/". */
export function requireTargetPath(path: string | null | undefined, field = "target_path"): string {
  if (!path) throw invalidArgument(`${field} is required`);
  if (path.includes("\0")) throw invalidArgument(`${field} contains a NUL byte`);
  if (!isAbsolute(path)) throw invalidArgument(`${field} ${JSON.stringify(path)} is not an absolute path`);
  if (posix.normalize(path) !== path || path.endsWith("/")) {
    throw invalidArgument(`${field} ${JSON.stringify(path)} is not a normalised path`);
  }
  return path;
}

/** The kind of volume one capability asks for; throws when access type or access mode is missing. */
export function capabilityKind(capability: VolumeCapability | null | undefined, field: string): VolumeKind {
  if (!capability) throw invalidArgument(`${field} is required`);
  const mode = capability.access_mode?.mode;
  if (!mode || !ACCESS_MODES.has(mode)) {
    throw invalidArgument(
      `${field}.access_mode must be set to a known mode (got ${JSON.stringify(mode ?? null)})`,
    );
  }
  if (capability.access_type === "block" || capability.block) return "block";
  if (capability.access_type === "mount" || capability.mount) return "filesystem";
  throw invalidArgument(`${field} must set access_type: block or mount`);
}

/** The single kind all of a request's capabilities agree on. */
export function requireCapabilities(
  capabilities: readonly VolumeCapability[] | null | undefined,
  field = "volume_capabilities",
): VolumeKind {
  if (!capabilities || capabilities.length === 0) throw invalidArgument(`${field} must not be empty`);
  const kinds = new Set(capabilities.map((capability, i) => capabilityKind(capability, `${field}[${i}]`)));
  const [kind] = kinds;
  if (kind === undefined || kinds.size > 1) {
    throw invalidArgument(`${field} mixes block and mount access types; a volume is one or the other`);
  }
  return kind;
}
