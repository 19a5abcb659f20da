export {
  classifyDataSourceRef,
  type DataSourceClass,
  type DataSourceRef,
  type SourceKind,
} from "./classify.ts";
export {
  PROGRAM_NAME,
  parseValidatorArgs,
  usageText,
  type ValidatorCliOptions,
  type ValidatorCliResult,
  type ValidatorLeaderElection,
} from "./cli.ts";
export {
  createValidatorController,
  DEFAULT_RESYNC_PERIOD_MS,
  DEFAULT_WORKER_THREADS,
  type ValidatorController,
  type ValidatorControllerConfig,
} from "./controller.ts";
export {
  type ApiEventRecorderOptions,
  apiEventRecorder,
  EVENT_COMPONENT,
  EventReason,
  type RecordEvent,
} from "./events.ts";
export {
  createValidatorMetrics,
  OPERATION_COUNT_NAME,
  OPERATION_RESULTS,
  type OperationResult,
  type ValidatorMetrics,
} from "./metrics.ts";
export {
  createPvcReconciler,
  type PvcReconciler,
  type PvcReconcilerOptions,
  pvcKey,
  pvcKeysReferring,
} from "./reconciler.ts";
export { podNamespace, type RunValidatorOptions, runValidator } from "./run.ts";
export {
  isWaiting,
  type PvcValidation,
  UNRECOGNIZED_MESSAGE,
  type ValidatorEvent,
  validatePvc,
} from "./validate.ts";
export { VERSION } from "./version.ts";
export {
  formatSourceKind,
  type Registration,
  registrationOf,
  sameSourceKind,
  VOLUME_POPULATOR_GROUP,
  VOLUME_POPULATOR_KIND,
  VOLUME_POPULATOR_PLURAL,
  VOLUME_POPULATOR_VERSION,
  type VolumePopulator,
} from "./volume-populator.ts";
