/**
 * Why a population failed, in the protocol's vocabulary: `reason` becomes an operation's
 * `failure_reason` (fast path) or starts the pod's termination message (Pod fallback).
 */
export type FailureReason =
  | "GoldenContentNotFound"
  | "GoldenContentInvalid"
  | "VolumeTooSmall"
  | "VolumeNotEmpty"
  | "NoSpaceLeft"
  | "CopyFailed";

export class PopulationFailure extends Error {
  override name = "PopulationFailure";
  readonly code = "POPULATION_FAILED";
  readonly reason: FailureReason;

  constructor(reason: FailureReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}

/**
 * Turns anything thrown while `doing` something into a failure. Node's own messages name host paths
 * (the state directory), which would end up on the user's PVC: only the errno code is kept.
 */
export function toPopulationFailure(error: unknown, doing: string): PopulationFailure {
  if (error instanceof PopulationFailure) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOSPC" || code === "EDQUOT") {
    return new PopulationFailure("NoSpaceLeft", `${doing}: no space left on the volume (${code})`, {
      cause: error,
    });
  }
  return new PopulationFailure(
    "CopyFailed",
    `${doing}: ${code ?? (error as Error)?.message ?? String(error)}`,
    {
      cause: error,
    },
  );
}

export function isAbort(error: unknown): boolean {
  return (error as Error | undefined)?.name === "AbortError";
}
