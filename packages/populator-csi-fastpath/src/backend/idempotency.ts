import { BackendRpcError, GrpcCode, OperationState } from "@volpop/sdk/fastpath";
import { RpcReason } from "./reasons.ts";

/** What the decision needs to know about a recorded operation. */
export interface KnownOperation {
  readonly operationId: string;
  readonly attempt: number;
  readonly volumeHandle: string;
  readonly state: OperationState;
}

export type PopulateDecision =
  /** Answer with the recorded operation, unchanged. */
  | { readonly kind: "existing"; readonly operation: KnownOperation }
  /** Start a copy (replacing a finished, failed attempt when there is one). */
  | { readonly kind: "start" }
  | { readonly kind: "refuse"; readonly error: BackendRpcError };

export function isRunning(state: OperationState): boolean {
  return state === OperationState.OPERATION_STATE_PENDING || state === OperationState.OPERATION_STATE_RUNNING;
}

/**
 * The protocol's idempotency rules (backend.proto, "Idempotency") as a pure function of the request,
 * the operation recorded under its id, and an operation still writing to its volume:
 *
 * - the id is known for another volume: FAILED_PRECONDITION (OperationIdInUse);
 * - the same attempt: the recorded operation, whatever its state;
 * - a higher attempt after FAILED or CANCELLED: start over;
 * - any other attempt (lower, or higher while running or after success): the recorded operation, so
 *   that a volume is never written by two copies and a success is never redone;
 * - a new operation while another one writes the volume: FAILED_PRECONDITION (VolumeBusy).
 */
export function decidePopulate(
  request: { readonly operationId: string; readonly attempt: number; readonly volumeHandle: string },
  recorded: KnownOperation | undefined,
  writingVolume: KnownOperation | undefined,
): PopulateDecision {
  if (recorded) {
    if (recorded.volumeHandle !== request.volumeHandle) {
      return refuse(
        RpcReason.OperationIdInUse,
        `operation ${request.operationId} already populates another volume`,
        "operation_id",
      );
    }
    const retry =
      request.attempt > recorded.attempt &&
      (recorded.state === OperationState.OPERATION_STATE_FAILED ||
        recorded.state === OperationState.OPERATION_STATE_CANCELLED);
    if (!retry) return { kind: "existing", operation: recorded };
  }
  if (writingVolume && writingVolume.operationId !== request.operationId) {
    return refuse(
      RpcReason.VolumeBusy,
      `volume ${request.volumeHandle} is being populated by operation ${writingVolume.operationId}`,
      "volume_handle",
    );
  }
  return { kind: "start" };
}

function refuse(reason: string, message: string, field: string): PopulateDecision {
  return { kind: "refuse", error: new BackendRpcError(GrpcCode.FAILED_PRECONDITION, reason, message, field) };
}
