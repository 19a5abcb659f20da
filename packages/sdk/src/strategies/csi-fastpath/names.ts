/** The fast path's names that users see on their objects: its PVC' annotation and event reasons. */
import { populatorKey } from "../../names.ts";

/** The strategy's name, as PVC''s `<prefix>/populate-strategy` annotation records it. */
export const FAST_PATH = "csi-fastpath";

/** On PVC': the fast-path backend (endpoint) that accepted the operation, so cleanup can reach it. */
export function fastPathBackendAnnotation(prefix: string): string {
  return populatorKey(prefix, "fastpath-backend");
}

export const FastPathEventReason = {
  /** The CSI fast path fills the volume, without a populator pod. */
  FastPath: "PopulatorFastPath",
  /** The fast path cannot take this volume; the Pod strategy fills it (the message says why). */
  FastPathFallback: "PopulatorFastPathFallback",
} as const;
