/**
 * The generic controller: a work queue of keys, workers that reconcile them, and watches whose
 * changes map to keys. The populator machinery and the validator are both a reconciler on it.
 * Level-based, as controller-runtime: a reconcile reads the current state by key and moves it one
 * step; it never depends on which change woke it.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Clock } from "../clock.ts";
import { isConflict, TerminalError, toVolpopError } from "../errors.ts";
import type { HealthResult } from "../http-server.ts";
import type { Logger } from "../logger.ts";
import { WorkQueue } from "../queue.ts";
import type { WorkQueueMetrics } from "../queue-metrics.ts";
import type { Change, Informer } from "./informers.ts";
import type { Runnable } from "./runnable.ts";

/** What a reconcile asks for besides "done": look again after a while (a waiting state, not an error). */
export interface ReconcileOutcome {
  readonly requeueAfterMs?: number;
}

/**
 * Reconciles one key. Resolving means done (or `requeueAfterMs`); a {@link TerminalError} means
 * "do not retry"; any other rejection retries the key with backoff.
 */
export type Reconciler = (key: string) => Promise<ReconcileOutcome | undefined>;

/** Maps a watched object's change to the keys to reconcile (none, one or several). */
export type KeyMapper<T extends KubernetesObject> = (
  object: T,
  change: Change,
) => Iterable<string> | string | undefined;

/** Everything a controller needs. */
export interface ControllerOptions {
  /** Name in logs, readiness and the work queue metrics' `name` label. */
  readonly name: string;
  readonly reconcile: Reconciler;
  /** Keys reconciled at once (per-controller concurrency limit). */
  readonly workers: number;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Work queue metrics; the Manager passes client-go's on its registry. */
  readonly queueMetrics?: WorkQueueMetrics;
  /** How long stopping waits for reconciles in flight. Default 20 s, inside Kubernetes' 30 s grace period. */
  readonly shutdownGraceMs?: number;
  /** Every this often, reconcile every key `resyncKeys` gives (a safety net). Default: never. */
  readonly resyncPeriodMs?: number;
  readonly resyncKeys?: () => Iterable<string>;
  /** Starts what the reconciler needs besides the caches, once they are synced and before the workers. */
  readonly beforeWorkers?: (signal: AbortSignal) => Promise<void>;
  /** Stops it again, after the workers. */
  readonly afterWorkers?: () => Promise<void>;
  /** Readiness entries besides the watches'. */
  readonly readyz?: () => HealthResult;
}

/** A controller; add it to a Manager, which starts it (while leading). */
export interface Controller extends Runnable {
  /** Reconcile changes of `informer`'s objects: each change becomes the keys `map` gives. */
  watch<T extends KubernetesObject>(informer: Informer<T>, map: KeyMapper<T>): void;
  /** Queue `key` now. */
  enqueue(key: string): void;
  /** Each watch (synced and running?) and the reconciler's own entries. */
  readyz(): HealthResult;
  readonly queue: WorkQueue;
}

/** Creates a controller; see the module comment. */
export function createController(options: ControllerOptions): Controller {
  const { logger, clock, name } = options;
  if (!Number.isSafeInteger(options.workers) || options.workers < 1)
    throw new RangeError(`workers must be a whole number of at least 1, not ${options.workers}`);
  const queue = new WorkQueue({ clock, ...(options.queueMetrics ? { metrics: options.queueMetrics } : {}) });
  const watched: { informer: Informer<KubernetesObject>; map: KeyMapper<KubernetesObject> }[] = [];
  // Changes are mapped to keys only while the controller runs (in the replica that leads): a standby
  // replica keeps its caches warm but queues nothing, so its queue does not grow with the cluster's
  // churn; when it starts, every cached object is mapped once (see `start`).
  let running = false;
  const enqueueMapped = (keys: Iterable<string> | string | undefined) => {
    if (keys === undefined) return;
    if (typeof keys === "string") queue.add(keys);
    else for (const key of keys) queue.add(key);
  };

  async function handle(key: string): Promise<void> {
    try {
      const result = await options.reconcile(key);
      queue.forget(key);
      if (result?.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs);
    } catch (thrown) {
      const error = toVolpopError(thrown);
      if (error instanceof TerminalError) {
        logger.error({ key, err: error }, "reconcile failed; not retrying");
        queue.forget(key);
      } else if (isConflict(error)) {
        // The cache had not caught up with the API server yet: routine, and retried shortly.
        logger.debug({ key, code: error.code }, "object changed meanwhile; retrying");
        queue.addRateLimited(key);
      } else {
        logger.warn(
          { key, code: error.code, error: error.message, retries: queue.retries(key) },
          "reconcile failed; retrying",
        );
        queue.addRateLimited(key);
      }
    }
  }

  async function worker(signal: AbortSignal): Promise<void> {
    for (;;) {
      const key = await queue.get(signal).catch(() => undefined);
      if (key === undefined) return;
      try {
        await handle(key);
      } finally {
        queue.done(key);
      }
    }
  }

  return {
    name,
    queue,
    watch(informer, map) {
      const entry = { informer, map } as unknown as (typeof watched)[number];
      watched.push(entry);
      informer.onChange((object, change) => {
        if (running) enqueueMapped(map(object, change));
      });
    },
    enqueue: (key) => queue.add(key),
    readyz: () => [
      ...watched.map(({ informer: w }) => ({
        name: `watch-${w.kind}`,
        ok: w.healthy,
        ...(w.healthy ? {} : { reason: w.lastError ?? "not synced yet" }),
      })),
      ...(options.readyz?.() ?? []),
    ],
    async start(signal) {
      // Workers start only once every cache is complete, so that no decision is taken from a world
      // that is not all there (a CRD installed later, RBAC fixed later: each watch retries until it
      // lists, and readiness says which one is missing).
      await Promise.all(watched.map(({ informer }) => informer.synced(signal)));
      let workers: Promise<void>[] = [];
      let resyncTimer: ReturnType<Clock["setTimeout"]> | undefined;
      try {
        if (!signal.aborted) {
          await options.beforeWorkers?.(signal);
          // Level-based: everything cached is looked at once, in the order the watches were added
          // (a mapper may rely on an earlier watch's objects, as PVC' on its user's PVC).
          running = true;
          for (const { informer, map } of watched)
            for (const object of informer.list()) enqueueMapped(map(object, "add"));
          workers = Array.from({ length: options.workers }, () => worker(signal));
          const period = options.resyncPeriodMs ?? 0;
          const resync = () => {
            for (const key of options.resyncKeys?.() ?? []) queue.add(key);
            resyncTimer = clock.setTimeout(resync, period);
          };
          if (period > 0) resyncTimer = clock.setTimeout(resync, period);
          logger.info({ controller: name, workers: options.workers }, "caches synced; reconciling");
          await new Promise<void>((resolve) =>
            signal.addEventListener("abort", () => resolve(), { once: true }),
          );
        }
      } finally {
        // Also when starting failed: the queue and what beforeWorkers started are stopped all the same.
        running = false;
        logger.info({ controller: name }, "stopping: finishing reconciles in flight");
        if (resyncTimer !== undefined) clock.clearTimeout(resyncTimer);
        const drained = await queue.shutDownWithDrain(options.shutdownGraceMs ?? 20_000);
        // Workers stuck in an API call past the grace period are left behind, not waited for.
        if (drained) await Promise.allSettled(workers);
        else logger.warn({ controller: name }, "reconciles still running at the end of the grace period");
        await options.afterWorkers?.();
      }
    },
  };
}
