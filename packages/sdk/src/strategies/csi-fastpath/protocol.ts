/**
 * The fast-path protocol's generated types and service definition, re-exported under stable names.
 * The generated module is an implementation detail; vendors and the SDK import from here.
 */
export {
  type CancelOperationRequest,
  type CancelOperationResponse,
  DataMovement,
  ErrorDetail,
  type GetBackendInfoRequest,
  GetBackendInfoResponse,
  type GetOperationRequest,
  type GetOperationResponse,
  Operation,
  OperationState,
  PopulateRequest,
  type PopulateResponse,
  PopulatorBackendClient,
  type PopulatorBackendServer,
  PopulatorBackendService,
  type SourceKind,
  VolumeMode,
} from "./generated/volpop/fastpath/v1/backend.ts";

/** Trailing metadata key carrying an `ErrorDetail` on RPC errors. */
export const ERROR_DETAIL_METADATA_KEY = "volpop-error-detail-bin";

/** Bounds every backend enforces on requests (and the conformance suite checks). */
export const PROTOCOL_LIMITS = {
  operationIdBytes: 128,
  volumeHandleBytes: 1024,
  sourceJsonBytes: 1024 * 1024,
  mapEntries: 128,
  mapValueBytes: 4096,
} as const;
