/** Choosing a volume's size from the CreateVolume capacity range. */

import { CsiError, invalidArgument } from "./errors.ts";
import type { CapacityRange } from "./messages.ts";

export const MiB = 2 ** 20;

/** Size of a volume whose request names no size. */
export const DEFAULT_CAPACITY = 2 ** 30;

/** A parsed capacity range; 0 means "not set", as on the wire. */
export type CapacityRequest = {
  required: number;
  limit: number;
};

function parseBytes(value: string | number | undefined, field: string): number {
  const bytes = Number(value ?? 0);
  if (!Number.isInteger(bytes) || bytes < 0) {
    throw invalidArgument(`${field} must be a non-negative number of bytes (got ${JSON.stringify(value)})`);
  }
  return bytes;
}

/** Reads `capacity_range`; a missing range asks for nothing in particular. */
export function parseCapacityRange(range: CapacityRange | null | undefined): CapacityRequest {
  const required = parseBytes(range?.required_bytes, "capacity_range.required_bytes");
  const limit = parseBytes(range?.limit_bytes, "capacity_range.limit_bytes");
  if (limit > 0 && required > limit) {
    throw invalidArgument(`capacity_range.required_bytes (${required}) exceeds limit_bytes (${limit})`);
  }
  return { required, limit };
}

/**
 * The size to create: `required` rounded up to a whole MiB, or {@link DEFAULT_CAPACITY} (capped at
 * `limit`, rounded down to a whole MiB) when nothing is required. OUT_OF_RANGE when that breaks the
 * limit or exceeds `maxVolumeSize`.
 */
export function chooseCapacity(request: CapacityRequest, maxVolumeSize: number): number {
  const { required, limit } = request;
  let size = required > 0 ? Math.ceil(required / MiB) * MiB : DEFAULT_CAPACITY;
  if (required === 0 && limit > 0 && size > limit) size = Math.floor(limit / MiB) * MiB;
  if (size === 0) {
    throw new CsiError(
      "OUT_OF_RANGE",
      `capacity_range.limit_bytes (${limit}) is below the 1 MiB granularity`,
    );
  }
  if (limit > 0 && size > limit) {
    throw new CsiError(
      "OUT_OF_RANGE",
      `required_bytes rounded up to whole MiB is ${size} bytes, above limit_bytes (${limit})`,
    );
  }
  if (size > maxVolumeSize) {
    throw new CsiError("OUT_OF_RANGE", `requested ${size} bytes; volumes are at most ${maxVolumeSize} bytes`);
  }
  return size;
}

/** True when an existing volume of `capacity` bytes fits the request (CreateVolume idempotency). */
export function satisfiesRange(capacity: number, request: CapacityRequest): boolean {
  return capacity >= request.required && (request.limit === 0 || capacity <= request.limit);
}
