import { EventReason } from "../../events.ts";
import type { Observed } from "../../observed.ts";
import type { Step } from "../../plan.ts";
import { describeProgress } from "../../progress.ts";
import type { FillInput, FillOutcome, Strategy } from "../../strategy.ts";
import { failAttempt, failuresSoFar, waitForRetry } from "../attempts.ts";
import {
  type FunctionAction,
  FunctionRuntime,
  type FunctionState,
  type FunctionStrategyOptions,
} from "./runtime.ts";

export const FUNCTION_STRATEGY = "function";

/**
 * Populates with the populator's own functions, no pod (upstream lib-volume-populator's provider
 * functions: `PopulateFn`, `PopulateCompleteFn`, `PopulateCleanupFn`): a call to a storage API, a
 * snapshot restore, a clone. The controller still does the rest (PVC', the hand-over of its PV,
 * events, progress, retries with growing delays, giving up after `maxAttempts`, clean-up).
 *
 * @example
 * strategy: functionStrategy({
 *   populate: async ({ primePv, source }) => storage.restore(primePv?.spec?.csi?.volumeHandle, source.spec.snapshot),
 *   isComplete: async ({ primePv }) => (await storage.status(primePv?.spec?.csi?.volumeHandle)) === "ready",
 * })
 */
export function functionStrategy<Spec>(options: FunctionStrategyOptions<Spec>): Strategy {
  const name = options.name ?? FUNCTION_STRATEGY;
  const runtime = new FunctionRuntime(options as FunctionStrategyOptions<unknown>);
  return {
    name,
    runtime,
    fill: (input) => fillWithFunctions(input, name),
    cleanup: cleanupFunctions,
  };
}

function act(action: FunctionAction): Step {
  return { kind: "runtime", action };
}

function stateOf(observed: Observed): FunctionState | undefined {
  return observed.strategyState as FunctionState | undefined;
}

function fillWithFunctions(input: FillInput, name: string): FillOutcome {
  const { observed, settings } = input;
  const primePvc = observed.primePvc;
  // The volume to fill is PVC''s PV: the functions get it once it is bound.
  if (primePvc?.status?.phase !== "Bound" || !observed.primePv) {
    return { state: "working", plan: { steps: [], waitingFor: "PVC' to bind before populating it" } };
  }
  const attempt = failuresSoFar(input) + 1;
  const state = stateOf(observed);
  // No state (not started, or the controller restarted) or a failed attempt already counted: start
  // this attempt once its retry delay has passed.
  if (!state || (state.attempt < attempt && state.phase === "failed")) {
    const waiting = waitForRetry(input);
    if (waiting) return waiting;
    return {
      state: "working",
      plan: {
        steps: [
          act({
            kind: "populate",
            attempt,
            pvc: observed.pvc,
            primePvc,
            primePv: observed.primePv,
            source: input.source,
          }),
          {
            kind: "event",
            type: "Normal",
            reason: EventReason.OperationStartSuccess,
            message: `Populating without a pod (${name})${attempt > 1 ? `, attempt ${attempt} of ${settings.maxAttempts}` : ""}`,
          },
        ],
        waitingFor: `the ${name} strategy's populate`,
      },
    };
  }
  switch (state.phase) {
    case "succeeded":
      return { state: "done" };
    case "populating":
    case "checking":
      return {
        state: "working",
        plan: {
          steps: [
            {
              kind: "setProgress",
              progress: state.progress ? describeProgress(state.progress) : state.phase,
            },
          ],
          waitingFor: `the ${name} strategy (${state.phase})`,
          requeueAfterMs: settings.progressIntervalMs,
        },
      };
    case "failed":
      return failAttempt(input, {
        subject: "Population",
        why: state.message ?? "failed",
        strategy: name,
        retryWaitingFor: "the retry delay",
      });
  }
}

// While PVC' exists (clean-up deletes it in the same plan), the populator's clean-up runs.
function cleanupFunctions(observed: Observed): readonly Step[] {
  if (!observed.primePvc && !stateOf(observed)) return [];
  return [
    act({
      kind: "cleanup",
      population: {
        pvc: observed.pvc,
        primePvc: observed.primePvc,
        primePv: observed.primePv,
        source: observed.source,
      },
    }),
  ];
}
