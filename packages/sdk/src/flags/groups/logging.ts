import { LOG_LEVELS, type LogLevel } from "../../logger.ts";
import type { FlagDeclaration } from "../declaration.ts";

// No default, so that a level raised by -v can tell a given --log-level from the default.
const LOG_LEVEL = {
  type: "enum",
  values: LOG_LEVELS,
  shownDefault: "info",
  description: `Minimum log level: ${LOG_LEVELS.join(", ")}`,
} as const satisfies FlagDeclaration;

const KLOG_VERBOSITY = {
  type: "int",
  min: 0,
  description: "klog verbosity, for upstream manifests: 4 or more logs at debug level",
} as const satisfies FlagDeclaration;

/** `--log-level`; read the level with {@link logLevelOf}. */
export function loggingFlags(): { readonly "log-level": typeof LOG_LEVEL };
/** `--log-level` and klog's `-v`, which upstream's manifests pass; read the level with {@link logLevelOf}. */
export function loggingFlags(options: { readonly klogVerbosity: true }): {
  readonly "log-level": typeof LOG_LEVEL;
  readonly v: typeof KLOG_VERBOSITY;
};
export function loggingFlags(options?: { readonly klogVerbosity: true }) {
  return options?.klogVerbosity ? { "log-level": LOG_LEVEL, v: KLOG_VERBOSITY } : { "log-level": LOG_LEVEL };
}

/**
 * The log level the logging flags ask for: `--log-level` when given, else `debug` for klog's `-v`
 * of 4 or more (klog's level for debug messages), else `info`.
 */
export function logLevelOf(values: {
  readonly "log-level": LogLevel | undefined;
  readonly v?: number | undefined;
}): LogLevel {
  return values["log-level"] ?? ((values.v ?? 0) >= 4 ? "debug" : "info");
}
