/**
 * `@volpop/sdk/runtime`: the controller machinery under `runPopulator`, for embedding populators in
 * another program (several on one Manager), writing a strategy, or building another controller on
 * the same parts (the validator does): Manager, generic controller, shared informers, work queue,
 * leader election, HTTP endpoint, metrics, the pure `reconcile` and its plan, object names, flags.
 *
 * @module @volpop/sdk/runtime
 */
export type {
  CliParseResult,
  FastPathCliOptions,
  LeaderElectionOptions,
  PopulatorCliDefaults,
  PopulatorCliOptions,
  PopulatorMode,
} from "./cli.ts";
export { parsePopulatorArgs } from "./cli.ts";
export type { Clock, TimerHandle } from "./clock.ts";
export { systemClock } from "./clock.ts";
export {
  addPopulator,
  createPopulatorController,
  type PopulatorController,
  type PopulatorControllerConfig,
  type PopulatorHandle,
  type PopulatorOptions,
} from "./controller.ts";
export { isAlreadyExists, isConflict, isNotFound } from "./errors.ts";
export { failpoint, failpointLine } from "./failpoints.ts";
export {
  type BooleanFlag,
  type DurationFlag,
  defineFlags,
  type EnumFlag,
  type FlagCheck,
  type FlagCommand,
  type FlagDeclaration,
  type FlagDeclarations,
  type FlagEnvironment,
  type FlagParseResult,
  type FlagValue,
  type FlagValues,
  flagUsage,
  formatGoDuration,
  httpEndpointFlags,
  type IntFlag,
  kubeconfigFlags,
  type LeaderElectionFlags,
  leaderElectionCheck,
  leaderElectionFlags,
  loggingFlags,
  logLevelOf,
  parseFlags,
  parseGoDuration,
  type StringFlag,
} from "./flags/index.ts";
export type {
  CheckResult,
  HealthCheck,
  HealthResult,
  HttpEndpoint,
  HttpEndpointOptions,
  MetricsSource,
} from "./http-server.ts";
export { startHttpEndpoint } from "./http-server.ts";
export {
  type CollectionWatch,
  type ListPage,
  type WatchCollectionOptions,
  watchCollection,
} from "./informers.ts";
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
export { type ListenAddress, parseListenAddress } from "./listen-address.ts";
export { type ReconcileLogContext, reconcileLogger } from "./logger.ts";
export {
  type Controller,
  type ControllerOptions,
  createController,
  type KeyMapper,
  type ReconcileOutcome,
  type Reconciler,
} from "./manager/controller.ts";
export type { Change, Informer, InformerRequest } from "./manager/informers.ts";
export {
  createManager,
  type Manager,
  type ManagerLeaderElection,
  type ManagerOptions,
} from "./manager/manager.ts";
export type { Runnable } from "./manager/runnable.ts";
export type {
  FinishOperation,
  PopulatorMetrics,
  PopulatorMetricsOptions,
  ReconcileResult,
} from "./metrics.ts";
export { createPopulatorMetrics, OPERATION_SECONDS_BUCKETS } from "./metrics.ts";
export {
  applyMutator,
  type Mutated,
  podHardeningProblems,
  podIdentityProblems,
  primePvcProblems,
} from "./mutators.ts";
export {
  copiedObjectName,
  MANAGED_BY_LABEL,
  POPULATE_FOR_LABEL,
  POPULATOR_CONTAINER_NAME,
  POPULATOR_VOLUME_NAME,
  populateAttemptsAnnotation,
  populatedFromAnnotation,
  populateProgressAnnotation,
  populateStateAnnotation,
  populateStrategyAnnotation,
  populatorKey,
  populatorPodName,
  primePvcName,
  SELECTED_NODE_ANNOTATION,
  targetProtectionFinalizer,
} from "./names.ts";
export type { Observed, SourceObject } from "./observed.ts";
export type { Plan, Step } from "./plan.ts";
export { describeProgress, formatProgressLine, lastProgress } from "./progress.ts";
export type { WorkQueueOptions } from "./queue.ts";
export { DEFAULT_BASE_DELAY_MS, DEFAULT_MAX_DELAY_MS, WorkQueue } from "./queue.ts";
export { type WorkQueueMetrics, workQueueMetrics } from "./queue-metrics.ts";
export { type ReconcileContext, reconcile } from "./reconcile.ts";
export { DEFAULT_WORKERS } from "./settings.ts";
export {
  FUNCTION_STRATEGY,
  type FunctionAction,
  FunctionRuntime,
  type FunctionState,
} from "./strategies/function/index.ts";
export type {
  FillInput,
  FillOutcome,
  RuntimeStep,
  StrategyRuntime,
  StrategyRuntimeContext,
} from "./strategy.ts";
export { registerVolumePopulator, volumePopulatorName } from "./volume-populator-registration.ts";
