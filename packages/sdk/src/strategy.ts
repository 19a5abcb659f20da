import type { FastPathObservation } from "./fastpath/observation.ts";
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
  /** Label value in metrics and logs: `pod`, `csi-fastpath`. */
  readonly name: string;
  fill(input: FillInput): FillOutcome;
  /** Steps removing what `fill` created; run when the population ends either way. */
  cleanup(observed: Observed, prefix: string): readonly Step[];
  /**
   * Strategies that talk to something besides the API server (a fast-path backend) have a runtime: the
   * controller starts it before its workers, reads its state into each observation and hands it the
   * steps only it can carry out.
   */
  readonly runtime?: StrategyRuntime;
}

/** What the controller gives a strategy runtime. */
export interface StrategyRuntimeContext {
  readonly signal: AbortSignal;
  /** Reconcile the user's PVC with this uid again (its operation changed). */
  requeue(pvcUid: string): void;
  readonly logger: Logger;
  readonly metrics: PopulatorMetrics;
}

export type RuntimeStep = Extract<Step, { kind: "fastPathPopulate" | "fastPathCancel" }>;

export interface StrategyRuntime {
  /** Connects; resolves once the first look at each backend finished (answered or not). */
  start(context: StrategyRuntimeContext): Promise<void>;
  stop(): Promise<void>;
  observe(pvcUid: string): FastPathObservation;
  perform(step: RuntimeStep, pvcUid: string): Promise<void>;
  /** Readiness entries (one per backend), shown on /readyz but never failing it: fallback covers them. */
  health(): HealthResult;
}
