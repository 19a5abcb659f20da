import { EventReason } from "../events.ts";
import {
  populateAttemptsAnnotation,
  populateLastFailureAnnotation,
  populateStateAnnotation,
} from "../names.ts";
import type { Step } from "../plan.ts";
import { retryDelayMs } from "../settings.ts";
import type { FillInput, FillOutcome } from "../strategy.ts";

/**
 * Retry bookkeeping shared by the strategies: failures are counted on PVC' (so a restarted controller
 * carries on where the last one stopped), retried with growing delays, and given up after `maxAttempts`.
 */

/** Failures so far, as counted on PVC'. */
export function failuresSoFar({ observed, prefix }: Pick<FillInput, "observed" | "prefix">): number {
  const counted = observed.primePvc?.metadata?.annotations?.[populateAttemptsAnnotation(prefix)];
  return Number.parseInt(counted ?? "0", 10) || 0;
}

/** While the delay after the last failure runs: the outcome to return; afterwards undefined. */
export function waitForRetry(
  input: Pick<FillInput, "observed" | "prefix" | "settings">,
): FillOutcome | undefined {
  const { observed, prefix, settings } = input;
  const failures = failuresSoFar(input);
  const annotations = observed.primePvc?.metadata?.annotations ?? {};
  const lastFailure = Date.parse(annotations[populateLastFailureAnnotation(prefix)] ?? "");
  const retryAt = Number.isNaN(lastFailure) ? 0 : lastFailure + retryDelayMs(settings, failures);
  if (observed.now >= retryAt) return undefined;
  return {
    state: "working",
    plan: {
      steps: [],
      waitingFor: `retry ${failures + 1} of ${settings.maxAttempts}`,
      requeueAfterMs: retryAt - observed.now,
    },
  };
}

export interface FailureReport {
  /** Who failed, starting the event's sentence: "Populator pod", "Fast-path population". */
  readonly subject: string;
  /** Why, for the event and the progress annotation. */
  readonly why: string;
  /** Label of `volpop_population_strategy_total` when given up, if not the configured strategy's. */
  readonly strategy?: string;
  /** Steps after giving up (e.g. delete the pod). */
  readonly onGiveUp?: readonly Step[];
  /** Steps before retrying (e.g. delete the failed pod). */
  readonly onRetry?: readonly Step[];
  /** What the plan waits for before the retry. */
  readonly retryWaitingFor: string;
}

/** Counts the failure of the current attempt on PVC' and retries later, or gives up at `maxAttempts`. */
export function failAttempt(
  input: Pick<FillInput, "observed" | "prefix" | "settings">,
  report: FailureReport,
): FillOutcome {
  const { observed, prefix, settings } = input;
  const attempt = failuresSoFar(input) + 1;
  const { why } = report;
  const counted = {
    [populateAttemptsAnnotation(prefix)]: String(attempt),
    [populateLastFailureAnnotation(prefix)]: new Date(observed.now).toISOString(),
  };
  if (attempt >= settings.maxAttempts) {
    return {
      state: "working",
      plan: {
        steps: [
          // One patch: PVC' must never count the last failure without saying the population is given
          // up, or the next reconcile would start one attempt too many.
          {
            kind: "annotatePrimePvc",
            annotations: { ...counted, [populateStateAnnotation(prefix)]: "failed" },
          },
          {
            kind: "event",
            type: "Warning",
            reason: EventReason.Failed,
            message: `${report.subject} failed ${attempt} times, giving up: ${why}. Delete and re-create the PVC to try again.`,
          },
          { kind: "setProgress", progress: `failed: ${why}` },
          {
            kind: "finishOperation",
            result: "failed",
            ...(report.strategy ? { strategy: report.strategy } : {}),
          },
          ...(report.onGiveUp ?? []),
        ],
        waitingFor: "someone to act on the failed population",
      },
    };
  }
  const delay = retryDelayMs(settings, attempt);
  return {
    state: "working",
    plan: {
      steps: [
        { kind: "annotatePrimePvc", annotations: counted },
        {
          kind: "event",
          type: "Warning",
          reason: EventReason.Failed,
          message: `${report.subject} failed (attempt ${attempt} of ${settings.maxAttempts}): ${why}; retrying in ${Math.round(delay / 1000)}s`,
        },
        { kind: "setProgress", progress: `retrying after failure: ${why}` },
        ...(report.onRetry ?? []),
      ],
      waitingFor: report.retryWaitingFor,
      requeueAfterMs: delay,
    },
  };
}
