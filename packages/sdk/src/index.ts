/**
 * `@volpop/sdk`: what a populator author needs. Describe the source (`Populator`), fill a volume
 * (`PopulateContext`), run both modes from one binary (`runPopulator`).
 *
 * Other audiences have their own entry points: `@volpop/sdk/fastpath` (storage vendors: the fast-path
 * protocol, `serveBackend`, conformance), `@volpop/sdk/runtime` (the controller machinery: embedding,
 * custom strategies) and `@volpop/sdk/testing` (fakes and fixtures for tests).
 *
 * @module @volpop/sdk
 */
export { blockTargetSize, deviceNumbers } from "./block-size.ts";
export type { ExtraOption, ExtraOptions, ExtraValues } from "./cli.ts";
export { CliUsageError } from "./cli.ts";
export type { VolpopErrorOptions } from "./errors.ts";
export {
  ApiError,
  ConfigError,
  ErrorCode,
  SourceInvalidError,
  TerminalError,
  TransientError,
  toVolpopError,
  VolpopError,
} from "./errors.ts";
export { EventReason } from "./events.ts";
export type { LogDestination, LogFn, Logger, LoggerOptions, LogLevel } from "./logger.ts";
export { createLogger, LOG_LEVELS } from "./logger.ts";
export { detectTarget, type PopulateContext, type PopulateTarget, progressReporter } from "./populate.ts";
export {
  DEFAULT_DEVICE_PATH,
  DEFAULT_MOUNT_PATH,
  DEFAULT_POD_DEADLINE_SECONDS,
  type MutationContext,
  type PodContext,
  type Populator,
  type PopulatorPodSpec,
  type Source,
  type SourceCheck,
  type SourceKind,
  type SourceNamespaceObject,
} from "./populator.ts";
export type { Progress } from "./progress.ts";
export { quantityToBytes } from "./quantity.ts";
export { type PopulatorProgram, runPopulator } from "./run.ts";
export { defaultSettings, type PopulationSettings } from "./settings.ts";
export {
  defineSpec,
  refine,
  type SpecDefinition,
  type SpecOptions,
  type Static,
  type TSchema,
  Type,
} from "./spec.ts";
export { readSpec, SPEC_ENV } from "./spec-env.ts";
export {
  type FunctionCleanup,
  type FunctionPopulation,
  type FunctionStrategyOptions,
  functionStrategy,
} from "./strategies/function/index.ts";
export { POPULATOR_UID, podStrategy } from "./strategies/pod/strategy.ts";
export type { Strategy } from "./strategy.ts";
