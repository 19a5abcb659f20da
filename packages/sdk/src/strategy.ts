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
  cleanup(observed: Observed): readonly Step[];
}
