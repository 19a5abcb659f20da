import { Counter, Registry } from "prom-client";
import type { DataSourceClass } from "./classify.ts";

/** The `result` label values of {@link OPERATION_COUNT_NAME}: upstream's, in upstream's order. */
export const OPERATION_RESULTS = ["empty", "pvc", "snapshot", "populator", "invalid", "error"] as const;

/** One of {@link OPERATION_RESULTS}: a classification, or `error` when validating a PVC failed. */
export type OperationResult = DataSourceClass | "error";

/** Upstream's metric name, so that dashboards built for upstream keep working. */
export const OPERATION_COUNT_NAME = "volume_data_source_validator_operation_count";

/** The validator's metrics, registered on one registry. */
export interface ValidatorMetrics {
  /** The registry the metrics are registered on; serve it on the metrics path. */
  readonly registry: Registry;
  /** `volume_data_source_validator_operation_count{result}`: PVC validations by result. */
  readonly operationCount: Counter<"result">;
  /** Counts one validation. */
  count(result: OperationResult): void;
}

/**
 * Creates and registers the validator metrics on `registry` (default: a fresh one, never
 * prom-client's global registry, so that two validators or tests in one process do not collide).
 * Every result starts at 0, so that `rate()` and alerts on `invalid` work before the first one.
 */
export function createValidatorMetrics(registry: Registry = new Registry()): ValidatorMetrics {
  const operationCount = new Counter({
    name: OPERATION_COUNT_NAME,
    help: "Number of validations operations by result",
    labelNames: ["result"],
    registers: [registry],
  });
  for (const result of OPERATION_RESULTS) operationCount.inc({ result }, 0);
  return {
    registry,
    operationCount,
    count: (result) => operationCount.inc({ result }),
  };
}
