import { GrpcCode, OperationState } from "@volpop/sdk/fastpath";
import { describe, expect, it } from "vitest";
import { decidePopulate, type KnownOperation } from "./idempotency.ts";

const {
  OPERATION_STATE_PENDING,
  OPERATION_STATE_RUNNING,
  OPERATION_STATE_SUCCEEDED,
  OPERATION_STATE_FAILED,
} = OperationState;

function operation(overrides: Partial<KnownOperation> = {}): KnownOperation {
  return {
    operationId: "op-1",
    attempt: 1,
    volumeHandle: "vol-1",
    state: OPERATION_STATE_RUNNING,
    ...overrides,
  };
}

const request = (attempt = 1, volumeHandle = "vol-1", operationId = "op-1") => ({
  operationId,
  attempt,
  volumeHandle,
});

describe("decidePopulate", () => {
  it("starts an operation it has never seen on an idle volume", () => {
    expect(decidePopulate(request(), undefined, undefined)).toEqual({ kind: "start" });
  });

  it.each([
    OPERATION_STATE_PENDING,
    OPERATION_STATE_RUNNING,
    OPERATION_STATE_SUCCEEDED,
    OPERATION_STATE_FAILED,
  ])("returns the recorded operation (state %d) for the same id and attempt", (state) => {
    const recorded = operation({ state });
    expect(decidePopulate(request(1), recorded, undefined)).toEqual({
      kind: "existing",
      operation: recorded,
    });
  });

  it.each([OperationState.OPERATION_STATE_FAILED, OperationState.OPERATION_STATE_CANCELLED])(
    "starts over for a higher attempt after the operation ended in state %d",
    (state) => {
      expect(decidePopulate(request(2), operation({ state }), undefined)).toEqual({ kind: "start" });
    },
  );

  it("never starts a second copy for a higher attempt while the first still runs", () => {
    const running = operation({ state: OPERATION_STATE_RUNNING });
    expect(decidePopulate(request(2), running, running)).toEqual({ kind: "existing", operation: running });
  });

  it("never redoes a success for a higher attempt", () => {
    const done = operation({ state: OPERATION_STATE_SUCCEEDED });
    expect(decidePopulate(request(3), done, undefined)).toEqual({ kind: "existing", operation: done });
  });

  it("answers a stale lower attempt with the current operation", () => {
    const current = operation({ attempt: 3, state: OPERATION_STATE_FAILED });
    expect(decidePopulate(request(2), current, undefined)).toEqual({ kind: "existing", operation: current });
  });

  it("refuses the same id for another volume with FAILED_PRECONDITION OperationIdInUse", () => {
    const decision = decidePopulate(request(1, "vol-2"), operation(), undefined);
    expect(decision.kind === "refuse" && decision.error).toMatchObject({
      code: GrpcCode.FAILED_PRECONDITION,
      reason: "OperationIdInUse",
      field: "operation_id",
    });
  });

  it("refuses the same id for another volume even after it failed", () => {
    const decision = decidePopulate(
      request(2, "vol-2"),
      operation({ state: OPERATION_STATE_FAILED }),
      undefined,
    );
    expect(decision.kind).toBe("refuse");
  });

  it("refuses a new operation on a volume another operation writes with FAILED_PRECONDITION VolumeBusy", () => {
    const other = operation({ operationId: "op-other" });
    const decision = decidePopulate(request(1, "vol-1", "op-new"), undefined, other);
    expect(decision.kind === "refuse" && decision.error).toMatchObject({
      code: GrpcCode.FAILED_PRECONDITION,
      reason: "VolumeBusy",
      field: "volume_handle",
    });
  });

  it("refuses a retry while another operation writes its volume", () => {
    const decision = decidePopulate(
      request(2),
      operation({ state: OPERATION_STATE_FAILED }),
      operation({ operationId: "op-other" }),
    );
    expect(decision.kind === "refuse" && decision.error).toMatchObject({ reason: "VolumeBusy" });
  });
});
