import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { type Clock, systemClock } from "./clock.ts";

/**
 * Buckets of `volume_populator_operation_seconds`, upstream's exactly: populations run from
 * sub-second (a tiny file) to ten minutes (a large image), and dashboards built for upstream
 * keep working only if the bucket boundaries match.
 */
/**
 * The metric named `name` on `registry`, made by `make` only if it is not there yet: for metrics
 * that several users of one registry share (queues of several controllers, a runtime started again
 * with each leadership term), where registering twice would throw.
 */
export function registeredOnce<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

export const OPERATION_SECONDS_BUCKETS: readonly number[] = [
  0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 300, 600,
];

/** How one reconcile ended, as counted by `volpop_reconcile_total`. */
export type ReconcileResult = "success" | "requeue" | "error";

const RECONCILE_RESULTS: readonly ReconcileResult[] = ["success", "requeue", "error"];

/**
 * Ends an operation started with {@link PopulatorMetrics.startOperation}: observes its duration
 * under `result` (upstream records `"success"`) and removes it from the in-flight gauge. Only the
 * first call counts, so a finish on every exit path cannot skew the gauge.
 */
export type FinishOperation = (result: string) => void;

interface Operation {
  readonly finish: FinishOperation;
  readonly drop: () => void;
}

/** Options for {@link createPopulatorMetrics}. */
export interface PopulatorMetricsOptions {
  /** Also register prom-client's default process and Node.js metrics on the registry. Default `true`. */
  processMetrics?: boolean;
  /** Time source for operation durations. Default: {@link systemClock}. */
  clock?: Clock;
  /**
   * Label every series with `populator="<this>"` (the populator's prefix), so that several
   * populators share one registry (one Manager, one metrics endpoint). Without it the metrics carry
   * upstream's labels only, and a second set on the same registry throws.
   */
  populator?: string;
}

/** The metrics a populator exports, registered on one registry. */
export interface PopulatorMetrics {
  /** The registry every metric here is registered on; serve it on the metrics path. */
  readonly registry: Registry;
  /** `volume_populator_operation_seconds{result}` (upstream): duration of whole populations. */
  readonly operationSeconds: Histogram<"result" | "populator">;
  /** `volume_populator_operations_in_flight` (upstream): populations started and not yet finished. */
  readonly operationsInFlight: Gauge<"populator">;
  /** `volpop_reconcile_total{result}`: reconciles by outcome. */
  readonly reconcileTotal: Counter<"result" | "populator">;
  /** `volpop_reconcile_errors_total{code}`: failed reconciles by `VolpopError` code. */
  readonly reconcileErrorsTotal: Counter<"code" | "populator">;
  /** `volpop_population_strategy_total{strategy,outcome}`: populations by strategy and outcome. */
  readonly populationStrategyTotal: Counter<"strategy" | "outcome" | "populator">;
  /**
   * Starts timing an operation and counts it in flight. With a `key` (upstream uses the PVC uid)
   * a population spanning many reconciles is timed once: starting a key already in flight
   * returns the same finisher and keeps the original start time.
   */
  startOperation(key?: string): FinishOperation;
  /** Finishes the keyed operation `key`; returns `false` if none was in flight. */
  finishOperation(key: string, result: string): boolean;
  /** Forgets the keyed operation `key` without observing it (e.g. its PVC was deleted). */
  dropOperation(key: string): void;
  /** Counts one reconcile; for `"error"`, also counts `errorCode` (default `"UNKNOWN"`). */
  recordReconcile(result: ReconcileResult, errorCode?: string): void;
  /** Counts one population handled by `strategy` ending in `outcome`. */
  recordStrategy(strategy: string, outcome: string): void;
}

/**
 * Creates and registers the populator metrics on `registry`. The default is a fresh `Registry`,
 * never prom-client's global one, so that two controllers (or two tests) in one process do not
 * collide. Registering twice on the same registry throws, as prom-client does for duplicate names.
 */
export function createPopulatorMetrics(
  registry: Registry = new Registry(),
  options: PopulatorMetricsOptions = {},
): PopulatorMetrics {
  const clock = options.clock ?? systemClock;
  const labelled = options.populator !== undefined;
  const own = labelled ? { populator: options.populator as string } : {};
  const names = <const L extends string>(...labels: L[]) =>
    (labelled ? [...labels, "populator"] : labels) as (L | "populator")[];
  // Labelled sets share their metrics with the registry's other populators; unlabelled ones own theirs.
  const once = <T>(name: string, make: () => T): T =>
    labelled ? registeredOnce(registry, name, make) : make();
  const operationSeconds = once(
    "volume_populator_operation_seconds",
    () =>
      new Histogram({
        name: "volume_populator_operation_seconds",
        help: "Time taken by each populator operation",
        labelNames: names("result"),
        buckets: [...OPERATION_SECONDS_BUCKETS],
        registers: [registry],
      }),
  );
  const operationsInFlight = once(
    "volume_populator_operations_in_flight",
    () =>
      new Gauge({
        name: "volume_populator_operations_in_flight",
        help: "Total number of operations in flight",
        labelNames: names(),
        registers: [registry],
      }),
  );
  const reconcileTotal = once(
    "volpop_reconcile_total",
    () =>
      new Counter({
        name: "volpop_reconcile_total",
        help: "Reconciles of PVCs by result (success, requeue, error)",
        labelNames: names("result"),
        registers: [registry],
      }),
  );
  const reconcileErrorsTotal = once(
    "volpop_reconcile_errors_total",
    () =>
      new Counter({
        name: "volpop_reconcile_errors_total",
        help: "Failed reconciles of PVCs by error code",
        labelNames: names("code"),
        registers: [registry],
      }),
  );
  const populationStrategyTotal = once(
    "volpop_population_strategy_total",
    () =>
      new Counter({
        name: "volpop_population_strategy_total",
        help: "Populations by strategy and outcome",
        labelNames: names("strategy", "outcome"),
        registers: [registry],
      }),
  );
  // Present every result from the start so that rate() sees a 0 → 1 step rather than a new series.
  for (const result of RECONCILE_RESULTS) reconcileTotal.inc({ result, ...own }, 0);
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });

  let inFlight = 0;
  const keyed = new Map<string, Operation>();

  const begin = (onEnd: () => void): Operation => {
    const startedAt = clock.now();
    inFlight++;
    operationsInFlight.set(own, inFlight);
    let ended = false;
    const end = (result: string | undefined) => {
      if (ended) return;
      ended = true;
      inFlight--;
      operationsInFlight.set(own, inFlight);
      onEnd();
      // A wall clock stepped backwards must not record a negative duration.
      if (result !== undefined) {
        operationSeconds.observe({ result, ...own }, Math.max(0, clock.now() - startedAt) / 1000);
      }
    };
    return { finish: (result) => end(result), drop: () => end(undefined) };
  };

  return {
    registry,
    operationSeconds,
    operationsInFlight,
    reconcileTotal,
    reconcileErrorsTotal,
    populationStrategyTotal,
    startOperation(key) {
      if (key === undefined) return begin(() => {}).finish;
      let operation = keyed.get(key);
      if (operation === undefined) {
        operation = begin(() => keyed.delete(key));
        keyed.set(key, operation);
      }
      return operation.finish;
    },
    finishOperation(key, result) {
      const operation = keyed.get(key);
      operation?.finish(result);
      return operation !== undefined;
    },
    dropOperation(key) {
      keyed.get(key)?.drop();
    },
    recordReconcile(result, errorCode) {
      reconcileTotal.inc({ result, ...own });
      if (result === "error") reconcileErrorsTotal.inc({ code: errorCode ?? "UNKNOWN", ...own });
    },
    recordStrategy(strategy, outcome) {
      populationStrategyTotal.inc({ strategy, outcome, ...own });
    },
  };
}
