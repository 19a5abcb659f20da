import { DataMovement, type Operation, OperationState } from "@volpop/sdk/fastpath";

/** One operation as the backend tracks it: the protocol's Operation plus the means to stop it. */
export interface OperationRecord {
  readonly operationId: string;
  readonly attempt: number;
  readonly volumeHandle: string;
  state: OperationState;
  bytesDone: number;
  bytesTotal: number;
  message: string;
  failureReason: string;
  dataMovement: DataMovement;
  readonly abort: AbortController;
  /** Settles when the copy has stopped touching the volume (never rejects). */
  finished: Promise<void>;
}

export function newRecord(request: {
  operationId: string;
  attempt: number;
  volumeHandle: string;
}): OperationRecord {
  return {
    operationId: request.operationId,
    attempt: request.attempt,
    volumeHandle: request.volumeHandle,
    state: OperationState.OPERATION_STATE_PENDING,
    bytesDone: 0,
    bytesTotal: 0,
    message: "waiting for a copy slot",
    failureReason: "",
    dataMovement: DataMovement.DATA_MOVEMENT_UNSPECIFIED,
    abort: new AbortController(),
    finished: Promise.resolve(),
  };
}

/** The wire form: a snapshot, so later progress does not change an answer already given. */
export function toOperation(record: OperationRecord): Operation {
  return {
    operationId: record.operationId,
    attempt: record.attempt,
    volumeHandle: record.volumeHandle,
    state: record.state,
    bytesDone: record.bytesDone,
    bytesTotal: record.bytesTotal,
    message: record.message,
    failureReason: record.failureReason,
    dataMovement: record.dataMovement,
  };
}
