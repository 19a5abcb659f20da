import type { HealthResult } from "./http-server.ts";
import type { Logger } from "./logger.ts";
import type { PopulatorMetrics } from "./metrics.ts";
import type { Observed } from "./observed.ts";
import type { Plan, Step } from "./plan.ts";
import type { Populator, Source } from "./populator.ts";
import type { PopulationSettings } from "./settings.ts";

/** What a strategy gets to decide how to fill PVC'. */
export interface FillInput {
  readonly observed: Observed;
  readonly populator: Populator<unknown>;
  readonly source: Source<unknown>;
  readonly settings: PopulationSettings;
  readonly prefix: string;
}

export type FillOutcome =
  /** Still filling: carry out `plan`, then wait. */
  | { readonly state: "working"; readonly plan: Plan }
  /** PVC' holds the data; the controller hands its PV to the user's PVC. */
  | { readonly state: "done" };

/**
 * How PVC' gets its data. The controller does the rest (PVC', finalizer, rebinding, cleanup), so a
 * strategy only fills a bound-or-binding PVC' and removes what it created.
 */
export interface Strategy {
  /** Label value in metrics and logs, e.g. `pod`. */
  readonly name: string;
  fill(input: FillInput): FillOutcome;
  /** Steps removing what `fill` created; run when the population ends either way. */
  cleanup(observed: Observed, prefix: string): readonly Step[];
  /**
   * Strategies that talk to something besides the API server (a storage backend, the populator's own
   * functions) have a runtime: the controller starts it before its workers, reads its state into each
   * observation (`observed.strategyState`) and hands it the `runtime` steps.
   */
  readonly runtime?: StrategyRuntime<unknown, never>;
}

/** What the controller gives a strategy runtime. */
export interface StrategyRuntimeContext {
  readonly signal: AbortSignal;
  /** Reconcile the user's PVC with this uid again (its operation changed). */
  requeue(pvcUid: string): void;
  readonly logger: Logger;
  /** The controller's metrics; a runtime registers its own on `metrics.registry`. */
  readonly metrics: PopulatorMetrics;
}

export type RuntimeStep = Extract<Step, { kind: "runtime" }>;

/**
 * The side of a strategy that lives beside the controller. `State` is what it tells each reconcile
 * (`observed.strategyState`), `Action` what a `runtime` step asks of it.
 */
export interface StrategyRuntime<State = unknown, Action = unknown> {
  /** Starts (each leadership term); resolves once it is ready to be observed. */
  start(context: StrategyRuntimeContext): Promise<void>;
  stop(): Promise<void>;
  observe(pvcUid: string): State;
  perform(action: Action, pvcUid: string): Promise<void>;
  /**
   * A short name for `action` (`populate`, `cancel`), so that a chaos test can stop the controller
   * at one action rather than at every `runtime` step: its failpoints are `before:runtime:<name>`
   * and `after:runtime:<name>` (see failpoints.ts). Without it they are `before:runtime` and
   * `after:runtime`.
   */
  actionName?(action: Action): string;
  /** Readiness entries, shown on /readyz. */
  health(): HealthResult;
}
