import type { V1PersistentVolume, V1PersistentVolumeClaim } from "@kubernetes/client-node";
import type { HealthResult } from "../../http-server.ts";
import type { Logger } from "../../logger.ts";
import type { SourceObject } from "../../observed.ts";
import type { Source } from "../../populator.ts";
import type { Progress } from "../../progress.ts";
import type { StrategyRuntime, StrategyRuntimeContext } from "../../strategy.ts";

/** One population as the populator's functions see it. */
export interface FunctionPopulation<Spec = unknown> {
  /** The user's PVC. */
  readonly pvc: V1PersistentVolumeClaim;
  /** PVC', in the populator's namespace: the volume to fill is its PV. */
  readonly primePvc: V1PersistentVolumeClaim;
  /** The PV of PVC' (its CSI volume handle is what a storage API usually wants). */
  readonly primePv: V1PersistentVolume | undefined;
  /** The validated source. */
  readonly source: Source<Spec>;
  /** Which attempt this is, from 1; failures before it are counted on PVC'. */
  readonly attempt: number;
  /** Aborted when the population is cleaned up or the controller stops leading. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /** Shows progress on the user's PVC, as a populator pod's does. */
  reportProgress(progress: Progress): void;
}

/** What {@link FunctionStrategyOptions.cleanup} gets: the population as it ends, source unchecked. */
export interface FunctionCleanup {
  readonly pvc: V1PersistentVolumeClaim;
  readonly primePvc: V1PersistentVolumeClaim | undefined;
  readonly primePv: V1PersistentVolume | undefined;
  /** The source object as last seen (it may be gone, or invalid by now). */
  readonly source: SourceObject | undefined;
  readonly logger: Logger;
}

/** Upstream lib-volume-populator's provider functions, in TypeScript. */
export interface FunctionStrategyOptions<Spec = unknown> {
  /** Label in metrics, logs and on PVC'. Default `function`. */
  readonly name?: string;
  /**
   * Fills PVC''s volume, or starts filling it (upstream's `PopulateFn`): a call to a storage API, a
   * snapshot restore, a copy. Called once per attempt, and again for the same attempt after a
   * controller restart: it must be idempotent. Throwing fails the attempt, which is retried with
   * growing delays and given up after `maxAttempts`, like a failed populator pod.
   */
  populate(population: FunctionPopulation<Spec>): Promise<void>;
  /**
   * Whether the volume holds the data (upstream's `PopulateCompleteFn`): asked once `populate`
   * resolved, then every `pollIntervalMs` until it says so. Throwing fails the attempt. Without it,
   * the population is complete when `populate` resolves.
   */
  isComplete?(population: FunctionPopulation<Spec>): Promise<boolean>;
  /**
   * Removes what `populate` made besides the volume (upstream's `PopulateCleanupFn`): called when the
   * population ends, succeeded or abandoned; may be called more than once.
   */
  cleanup?(population: FunctionCleanup): Promise<void>;
  /** How often `isComplete` is asked. Default 2 s. */
  readonly pollIntervalMs?: number;
}

/** What the runtime knows of one population, read by each reconcile (`observed.strategyState`). */
export interface FunctionState {
  readonly attempt: number;
  /** `populating`: `populate` runs; `checking`: it resolved, `isComplete` not yet true. */
  readonly phase: "populating" | "checking" | "succeeded" | "failed";
  /** Why it failed. */
  readonly message?: string;
  readonly progress?: Progress;
}

/** What a `runtime` step asks of the function strategy's runtime. */
export type FunctionAction =
  | {
      readonly kind: "populate";
      readonly attempt: number;
      readonly pvc: V1PersistentVolumeClaim;
      readonly primePvc: V1PersistentVolumeClaim;
      readonly primePv: V1PersistentVolume | undefined;
      readonly source: Source<unknown>;
    }
  | { readonly kind: "cleanup"; readonly population: Omit<FunctionCleanup, "logger"> };

const DEFAULT_POLL_MS = 2000;

interface Running {
  state: FunctionState;
  readonly abort: AbortController;
  /** Settles when `populate` and `isComplete` are done with this attempt. */
  finished?: Promise<void>;
}

/** Longest clean-up waits for an aborted `populate` to return before it cleans up anyway. */
const CLEANUP_WAIT_MS = 10_000;

/**
 * Runs the populator's functions beside the controller: `populate` in the background (a worker is
 * never held by a long call), then `isComplete` on a timer, keeping each population's state for the
 * reconciles to read and requeueing the PVC whenever it changes.
 */
export class FunctionRuntime implements StrategyRuntime<FunctionState | undefined, FunctionAction> {
  readonly #options: FunctionStrategyOptions<unknown>;
  readonly #running = new Map<string, Running>();
  #context: StrategyRuntimeContext | undefined;

  constructor(options: FunctionStrategyOptions<unknown>) {
    this.#options = options;
  }

  async start(context: StrategyRuntimeContext): Promise<void> {
    this.#context = context;
  }

  async stop(): Promise<void> {
    // A new term starts each population's attempt again: `populate` is idempotent.
    for (const running of this.#running.values()) running.abort.abort();
    this.#running.clear();
  }

  observe(pvcUid: string): FunctionState | undefined {
    return this.#running.get(pvcUid)?.state;
  }

  /** `populate` or `cleanup`: names the failpoints of each (see StrategyRuntime.actionName). */
  actionName(action: FunctionAction): string {
    return action.kind;
  }

  health(): HealthResult {
    return [];
  }

  async perform(action: FunctionAction, pvcUid: string): Promise<void> {
    if (action.kind === "cleanup") {
      const running = this.#running.get(pvcUid);
      this.#running.delete(pvcUid);
      if (running) {
        running.abort.abort();
        // A populate that ignores its signal could create what cleanup is about to remove: give it
        // time to return first.
        const timeout = new AbortController();
        await Promise.race([running.finished, sleep(CLEANUP_WAIT_MS, timeout.signal)]);
        timeout.abort();
      }
      await this.#options.cleanup?.({ ...action.population, logger: this.#logger(pvcUid) });
      return;
    }
    this.#running.get(pvcUid)?.abort.abort();
    const running: Running = {
      state: { attempt: action.attempt, phase: "populating" },
      abort: new AbortController(),
    };
    // Seen by the next reconcile at once: the step is never repeated for this attempt.
    this.#running.set(pvcUid, running);
    const population: FunctionPopulation<unknown> = {
      pvc: action.pvc,
      primePvc: action.primePvc,
      primePv: action.primePv,
      source: action.source,
      attempt: action.attempt,
      signal: running.abort.signal,
      logger: this.#logger(pvcUid),
      reportProgress: (progress) => this.#update(pvcUid, running, { ...running.state, progress }),
    };
    running.finished = this.#run(pvcUid, running, population);
  }

  async #run(pvcUid: string, running: Running, population: FunctionPopulation<unknown>): Promise<void> {
    const { populate, isComplete } = this.#options;
    try {
      await populate(population);
      if (!isComplete) {
        this.#update(pvcUid, running, { ...running.state, phase: "succeeded" });
        return;
      }
      this.#update(pvcUid, running, { ...running.state, phase: "checking" });
      const every = this.#options.pollIntervalMs ?? DEFAULT_POLL_MS;
      while (!running.abort.signal.aborted) {
        if (await isComplete(population)) {
          this.#update(pvcUid, running, { ...running.state, phase: "succeeded" });
          return;
        }
        await sleep(every, running.abort.signal);
      }
    } catch (error) {
      if (running.abort.signal.aborted) return;
      const message = error instanceof Error ? error.message : String(error);
      this.#update(pvcUid, running, { ...running.state, phase: "failed", message });
    }
  }

  /** Records a change of a population still current (not replaced, not cleaned up) and requeues it. */
  #update(pvcUid: string, running: Running, state: FunctionState): void {
    if (this.#running.get(pvcUid) !== running || running.abort.signal.aborted) return;
    const phaseChanged = running.state.phase !== state.phase;
    running.state = state;
    // Progress alone is shown at the next progress interval; a phase change is acted on now.
    if (phaseChanged) this.#context?.requeue(pvcUid);
  }

  #logger(pvcUid: string): Logger {
    const logger = this.#context?.logger;
    if (!logger) throw new Error("the function strategy's runtime was not started");
    return logger.child({ pvcUid, strategy: this.#options.name ?? "function" });
  }
}

/** Resolves after `ms`, or early when `signal` aborts (never rejects). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
