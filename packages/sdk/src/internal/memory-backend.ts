import { setTimeout as sleep } from "node:timers/promises";
import { GrpcCode } from "../strategies/csi-fastpath/backend-error.ts";
import {
  type GetBackendInfoResponse,
  type Operation,
  OperationState,
  type PopulateRequest,
  VolumeMode,
} from "../strategies/csi-fastpath/protocol.ts";
import { type BackendImplementation, BackendRpcError } from "../strategies/csi-fastpath/server.ts";
import { CSI_DRIVER, SOURCE_KIND } from "./fixtures.ts";

/** A call the backend received, in order. */
export interface BackendCall {
  readonly method: "GetBackendInfo" | "Populate" | "GetOperation" | "CancelOperation";
  readonly operationId?: string;
  readonly request?: PopulateRequest;
}

/**
 * A fast-path backend for tests that copies nothing: it keeps operations in memory as the protocol
 * says (idempotent Populate, a higher attempt restarts a failed one, NOT_FOUND for unknown ids) and
 * lets the test move them along with {@link MemoryBackend.finish}.
 */
export class MemoryBackend implements BackendImplementation {
  readonly calls: BackendCall[] = [];
  readonly operations = new Map<string, Operation>();
  info: Partial<GetBackendInfoResponse> = {
    name: "memory",
    version: "0.0.1",
    csiDrivers: [CSI_DRIVER],
    sourceKinds: [{ group: SOURCE_KIND.group, kind: SOURCE_KIND.kind }],
    volumeModes: [VolumeMode.VOLUME_MODE_FILESYSTEM],
  };
  /** Thrown by the next calls of each method, one per call, before anything else happens. */
  readonly failures: { method: BackendCall["method"]; error: unknown }[] = [];
  /** Makes GetOperation answer this late (a hung backend). */
  getOperationDelayMs = 0;
  readonly #released = new AbortController();

  getBackendInfo(): Partial<GetBackendInfoResponse> {
    this.#called({ method: "GetBackendInfo" });
    return this.info;
  }

  async populate(request: PopulateRequest): Promise<Partial<Operation>> {
    this.#called({ method: "Populate", operationId: request.operationId, request });
    const known = this.operations.get(request.operationId);
    if (known && known.volumeHandle !== request.volumeHandle) {
      throw new BackendRpcError(
        GrpcCode.FAILED_PRECONDITION,
        "OperationIdInUse",
        `operation ${request.operationId} writes to another volume`,
        "operation_id",
      );
    }
    const restart =
      known &&
      request.attempt > known.attempt &&
      (known.state === OperationState.OPERATION_STATE_FAILED ||
        known.state === OperationState.OPERATION_STATE_CANCELLED);
    if (known && !restart) return known;
    const operation: Operation = {
      operationId: request.operationId,
      attempt: request.attempt,
      volumeHandle: request.volumeHandle,
      state: OperationState.OPERATION_STATE_RUNNING,
      bytesDone: 0,
      bytesTotal: request.capacityBytes,
      message: "copying",
      failureReason: "",
      dataMovement: 0,
    };
    this.operations.set(request.operationId, operation);
    return operation;
  }

  async getOperation(operationId: string): Promise<Partial<Operation>> {
    this.#called({ method: "GetOperation", operationId });
    if (this.getOperationDelayMs > 0) {
      await sleep(this.getOperationDelayMs, undefined, { signal: this.#released.signal }).catch(() => {});
    }
    const operation = this.operations.get(operationId);
    if (!operation) {
      throw new BackendRpcError(GrpcCode.NOT_FOUND, "OperationNotFound", `no operation ${operationId}`);
    }
    return operation;
  }

  async cancelOperation(operationId: string): Promise<void> {
    this.#called({ method: "CancelOperation", operationId });
    this.operations.delete(operationId);
  }

  /** Ends an operation the way a copy ends: SUCCEEDED, or FAILED with a reason. */
  finish(operationId: string, failure?: { reason: string; message: string }): void {
    const operation = this.operations.get(operationId);
    if (!operation) throw new Error(`no operation ${operationId}`);
    this.operations.set(operationId, {
      ...operation,
      state: failure ? OperationState.OPERATION_STATE_FAILED : OperationState.OPERATION_STATE_SUCCEEDED,
      bytesDone: failure ? operation.bytesDone : operation.bytesTotal,
      message: failure?.message ?? "done",
      failureReason: failure?.reason ?? "",
    });
  }

  /** How many calls of `method` arrived. */
  count(method: BackendCall["method"]): number {
    return this.calls.filter((c) => c.method === method).length;
  }

  /** Lets delayed calls answer now, so that a server can stop without waiting for them. */
  release(): void {
    this.#released.abort();
  }

  #called(call: BackendCall): void {
    this.calls.push(call);
    const index = this.failures.findIndex((f) => f.method === call.method);
    const failure = this.failures[index];
    if (failure) {
      this.failures.splice(index, 1);
      throw failure.error;
    }
  }
}
