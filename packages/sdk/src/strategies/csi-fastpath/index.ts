/**
 * `@volpop/sdk/fastpath`: the CSI fast path, for storage vendors and for populators that use it. A
 * vendor serves the protocol (`serveBackend`) and checks it (`runConformance`, also `volpop
 * conformance`); a populator turns it on with `csiFastPathStrategy`. The only entry point that loads
 * gRPC.
 *
 * @module @volpop/sdk/fastpath
 */

export { BackendCallError, BackendClient, type BackendClientOptions } from "./backend-client.ts";
export { backendError, errorDetailOf, GrpcCode, grpcCodeName } from "./backend-error.ts";
export {
  type ConformanceOptions,
  type ConformanceResult,
  type ConformanceVolume,
  runConformance,
} from "./conformance.ts";
export { clientCredentials, serverCredentials } from "./credentials.ts";
export {
  type BackendEndpoint,
  describeEndpoint,
  type MutualTls,
  parseEndpoint,
  readMutualTls,
} from "./endpoint.ts";
export type { BackendView, FastPathObservation, OperationPhase, OperationView } from "./observation.ts";
export { type BackendTarget, FastPathOperations, type FastPathOperationsOptions } from "./operations.ts";
export {
  type CancelOperationRequest,
  DataMovement,
  ERROR_DETAIL_METADATA_KEY,
  ErrorDetail,
  GetBackendInfoResponse,
  Operation,
  OperationState,
  PopulateRequest,
  PopulatorBackendClient,
  type PopulatorBackendServer,
  PopulatorBackendService,
  PROTOCOL_LIMITS,
  type SourceKind as BackendSourceKind,
  VolumeMode,
} from "./protocol.ts";
export {
  type BackendImplementation,
  BackendRpcError,
  type ServeBackendOptions,
  type ServingBackend,
  serveBackend,
} from "./server.ts";
export {
  type CsiFastPathOptions,
  csiFastPathStrategy,
  FAST_PATH,
  type FastPathBackendConfig,
} from "./strategy.ts";
export {
  type FastPathAction,
  FastPathEventReason,
  type FastPathMetrics,
  fastPathBackendAnnotation,
  fastPathMetrics,
} from "./vocabulary.ts";
