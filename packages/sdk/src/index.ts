export { blockTargetSize, deviceNumbers } from "./block-size.ts";
export type {
  CliParseResult,
  ExtraOption,
  ExtraOptions,
  ExtraValues,
  FastPathCliOptions,
  LeaderElectionOptions,
  PopulatorCliDefaults,
  PopulatorCliOptions,
  PopulatorMode,
} from "./cli.ts";
export { CliUsageError, DEFAULT_WORKERS, parseGoDuration, parsePopulatorArgs } from "./cli.ts";
export type { Clock, TimerHandle } from "./clock.ts";
export { systemClock } from "./clock.ts";
export {
  createPopulatorController,
  type PopulatorController,
  type PopulatorControllerConfig,
} from "./controller.ts";
export type { VolpopErrorOptions } from "./errors.ts";
export {
  ApiError,
  ConfigError,
  ErrorCode,
  isAlreadyExists,
  isConflict,
  isNotFound,
  SourceInvalidError,
  TerminalError,
  TransientError,
  toVolpopError,
  VolpopError,
} from "./errors.ts";
export { EventReason } from "./events.ts";
export { BackendCallError, BackendClient, type BackendClientOptions } from "./fastpath/backend-client.ts";
export { backendError, errorDetailOf, GrpcCode, grpcCodeName } from "./fastpath/backend-error.ts";
export {
  type ConformanceOptions,
  type ConformanceResult,
  type ConformanceVolume,
  runConformance,
} from "./fastpath/conformance.ts";
export { clientCredentials, serverCredentials } from "./fastpath/credentials.ts";
export {
  type BackendEndpoint,
  describeEndpoint,
  type MutualTls,
  parseEndpoint,
  readMutualTls,
} from "./fastpath/endpoint.ts";
export type {
  BackendView,
  FastPathObservation,
  OperationPhase,
  OperationView,
} from "./fastpath/observation.ts";
export {
  type BackendTarget,
  FastPathOperations,
  type FastPathOperationsOptions,
} from "./fastpath/operations.ts";
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
} from "./fastpath/protocol.ts";
export {
  type BackendImplementation,
  BackendRpcError,
  type ServeBackendOptions,
  type ServingBackend,
  serveBackend,
} from "./fastpath/server.ts";
export type {
  CheckResult,
  HealthCheck,
  HealthResult,
  HttpEndpoint,
  HttpEndpointOptions,
  ListenAddress,
  MetricsSource,
} from "./http-server.ts";
export { parseListenAddress, startHttpEndpoint } from "./http-server.ts";
export { type CollectionWatch, type WatchCollectionOptions, watchCollection } from "./informers.ts";
export { reuseConnections } from "./kube-connections.ts";
export type { LeaderElectionConfig, LeaderElectionStatus, LeaderElectionTimings } from "./leader-election.ts";
export {
  DEFAULT_LEASE_DURATION_MS,
  DEFAULT_RENEW_DEADLINE_MS,
  DEFAULT_RETRY_PERIOD_MS,
  LEADERSHIP_LOST,
  LeadershipLostError,
  leaderElectionTimingProblems,
  runWithLeaderElection,
} from "./leader-election.ts";
export type {
  LogDestination,
  LogFn,
  Logger,
  LoggerOptions,
  LogLevel,
  ReconcileLogContext,
} from "./logger.ts";
export { createLogger, LOG_LEVELS, reconcileLogger } from "./logger.ts";
export type {
  FinishOperation,
  PopulatorMetrics,
  PopulatorMetricsOptions,
  ReconcileResult,
} from "./metrics.ts";
export { createPopulatorMetrics, OPERATION_SECONDS_BUCKETS } from "./metrics.ts";
export {
  copiedObjectName,
  fastPathBackendAnnotation,
  MANAGED_BY_LABEL,
  POPULATE_FOR_LABEL,
  POPULATOR_CONTAINER_NAME,
  POPULATOR_VOLUME_NAME,
  populateAttemptsAnnotation,
  populatedFromAnnotation,
  populateProgressAnnotation,
  populateStateAnnotation,
  populateStrategyAnnotation,
  populatorPodName,
  primePvcName,
  SELECTED_NODE_ANNOTATION,
  targetProtectionFinalizer,
} from "./names.ts";
export type { Observed, SourceObject } from "./observed.ts";
export type { Plan, Step } from "./plan.ts";
export { detectTarget, type PopulateContext, type PopulateTarget, progressReporter } from "./populate.ts";
export {
  DEFAULT_DEVICE_PATH,
  DEFAULT_MOUNT_PATH,
  DEFAULT_POD_DEADLINE_SECONDS,
  type PodContext,
  type Populator,
  type PopulatorPodSpec,
  type Source,
  type SourceCheck,
  type SourceKind,
  type SourceNamespaceObject,
} from "./populator.ts";
export { describeProgress, formatProgressLine, lastProgress, type Progress } from "./progress.ts";
export { quantityToBytes } from "./quantity.ts";
export type { WorkQueueOptions } from "./queue.ts";
export { DEFAULT_BASE_DELAY_MS, DEFAULT_MAX_DELAY_MS, WorkQueue } from "./queue.ts";
export { type ReconcileContext, reconcile } from "./reconcile.ts";
export { type PopulatorProgram, runPopulator } from "./run.ts";
export { defaultSettings, type PopulationSettings } from "./settings.ts";
export {
  type CsiFastPathOptions,
  csiFastPathStrategy,
  FAST_PATH,
  type FastPathBackendConfig,
} from "./strategies/csi-fastpath.ts";
export { POPULATOR_UID, podStrategy } from "./strategies/pod.ts";
export type {
  FillInput,
  FillOutcome,
  RuntimeStep,
  Strategy,
  StrategyRuntime,
  StrategyRuntimeContext,
} from "./strategy.ts";
export { registerVolumePopulator, volumePopulatorName } from "./volume-populator-registration.ts";
