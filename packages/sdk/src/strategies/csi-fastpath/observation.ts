import type { GetBackendInfoResponse } from "./protocol.ts";

/** What the controller last heard from one configured fast-path backend. */
export interface BackendView {
  /** The endpoint as configured (`unix:///…` or `host:port`): also its name in annotations and events. */
  readonly endpoint: string;
  readonly state: "ready" | "unavailable";
  /** From GetBackendInfo, once it answered. */
  readonly info?: GetBackendInfoResponse | undefined;
  /** Why it is unavailable. */
  readonly error?: string | undefined;
}

/** Where a fast-path operation stands, as the backend last reported it. */
export type OperationPhase = "pending" | "running" | "succeeded" | "failed" | "cancelled";

/** The fast-path operation of one PVC, as the controller last saw it. */
export interface OperationView {
  readonly endpoint: string;
  readonly attempt: number;
  /** `rejected`: Populate itself failed with an RPC error (see `grpcCode`). */
  readonly phase: OperationPhase | "rejected";
  readonly bytesDone: number;
  /** 0 while unknown. */
  readonly bytesTotal: number;
  readonly message: string;
  /** FAILED: the backend's failure reason; rejected: the ErrorDetail reason. */
  readonly reason: string;
  /** rejected only: the gRPC status name, e.g. `UNAVAILABLE`, `INVALID_ARGUMENT`. */
  readonly grpcCode?: string | undefined;
  /** Set while the backend cannot be reached to follow the operation. */
  readonly unreachableSince?: number | undefined;
}

/** The fast-path part of what one reconcile observes. */
export interface FastPathObservation {
  readonly backends: readonly BackendView[];
  /** Undefined when no operation is known for the PVC (not started, or the backend forgot it). */
  readonly operation: OperationView | undefined;
}
