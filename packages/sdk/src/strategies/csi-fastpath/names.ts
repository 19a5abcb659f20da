/** The fast path's names that users see on their objects: its PVC' annotation and event reasons. */
import { populatorKey } from "../../names.ts";

/** The strategy's name, as PVC''s `<prefix>/populate-strategy` annotation records it. */
export const FAST_PATH = "csi-fastpath";

/** On PVC': the fast-path backend (endpoint) that accepted the operation, so cleanup can reach it. */
export function fastPathBackendAnnotation(prefix: string): string {
  return populatorKey(prefix, "fastpath-backend");
}

/**
 * Event reasons the fast path records on the user's PVC, besides the core's. Each constant's comment is
 * its entry in the docs site's events reference (generated from this file).
 */
export const FastPathEventReason = {
  /** Normal: the CSI fast path fills the volume, without a populator pod; the message names the backend. */
  FastPath: "PopulatorFastPath",
  /** Normal: the fast path cannot take this volume; the Pod strategy fills it (the message says why). */
  FastPathFallback: "PopulatorFastPathFallback",
} as const;
