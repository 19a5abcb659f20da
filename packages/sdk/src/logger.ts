import { pino } from "pino";

/** One log method: structured fields first, then the message, as pino takes them. */
export interface LogFn {
  (fields: object, msg?: string): void;
  (msg: string): void;
}

/**
 * The logging surface the SDK uses: the subset of pino's API below, so that a populator can pass
 * its own pino logger (or anything shaped like it) instead of the one {@link createLogger} makes.
 */
export interface Logger {
  /** Something went wrong and needs attention. */
  error: LogFn;
  /** Something unexpected that the SDK recovered from. */
  warn: LogFn;
  /** Progress worth seeing in normal operation. */
  info: LogFn;
  /** Detail for debugging. */
  debug: LogFn;
  /** A logger that adds `bindings` to every line. */
  child(bindings: Record<string, unknown>): Logger;
}

/** Log levels `createLogger` accepts, most to least severe; `silent` logs nothing. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Where log lines go instead of stdout: any stream that accepts strings (tests pass a collector). */
export interface LogDestination {
  /** Receives one JSON line per call, newline included. */
  write(line: string): unknown;
}

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  /** Minimum level written. */
  level: LogLevel;
  /**
   * Names the populator or component; written as `logger` on every line (controller-runtime's
   * key), because `name` is taken by the object a line is about (see {@link reconcileLogger}).
   */
  name: string;
  /** Where to write. Default: stdout. */
  destination?: LogDestination;
}

/**
 * Creates a structured JSON logger: one object per line with `level` as a word (`"info"`, not
 * pino's number, because people read and grep these in `kubectl logs`), an ISO `time`, `logger`,
 * and errors under `err` serialised with type, message and stack. pino's `pid` and `hostname` are
 * left out: in a pod they are 1 and the pod name, which the log collector already records.
 */
export function createLogger(options: LoggerOptions): Logger {
  const pinoOptions = {
    base: { logger: options.name },
    level: options.level,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return options.destination === undefined ? pino(pinoOptions) : pino(pinoOptions, options.destination);
}

/** Identifies one reconcile in {@link reconcileLogger}. */
export interface ReconcileLogContext {
  /** Namespace of the PVC being reconciled. */
  namespace: string;
  /** Name of the PVC being reconciled. */
  name: string;
  /** Unique per reconcile, to tell apart the lines of overlapping or repeated reconciles of one PVC. */
  reconcileId: string;
}

/** A child of `base` whose every line carries the PVC's namespace and name and the reconcile id. */
export function reconcileLogger(base: Logger, context: ReconcileLogContext): Logger {
  return base.child({ namespace: context.namespace, name: context.name, reconcileId: context.reconcileId });
}
