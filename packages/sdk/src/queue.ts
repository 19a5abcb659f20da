import { type Clock, systemClock, type TimerHandle } from "./clock.ts";
import type { WorkQueueMetrics } from "./queue-metrics.ts";

/**
 * Per-key retry delay after the first failure. client-go's default is 5 ms, which suits in-memory
 * conflicts; a populator's failures are API calls and cluster state (a missing StorageClass, a pod
 * still pulling its image) that never clear within milliseconds, so starting at half a second
 * saves a burst of pointless retries against the API server.
 */
export const DEFAULT_BASE_DELAY_MS = 500;

/**
 * Ceiling of the per-key retry delay. client-go caps at 1000 s; five minutes still keeps a broken
 * population from hammering the API server while making sure a fixed problem (a source created
 * late, a quota raised) is noticed within minutes rather than a quarter of an hour.
 */
export const DEFAULT_MAX_DELAY_MS = 5 * 60 * 1000;

/** Options for {@link WorkQueue}. */
export interface WorkQueueOptions {
  /** Time source for delayed adds and drain timeouts. Default: {@link systemClock}. */
  clock?: Clock;
  /** Delay before the first rate-limited retry of a key; each further failure doubles it. Default 500 ms. */
  baseDelayMs?: number;
  /** Upper bound of the rate-limited delay. Default 5 min. */
  maxDelayMs?: number;
  /** Where to report depth, waits, work and retries (see `workQueueMetrics`). Default: nowhere. */
  metrics?: WorkQueueMetrics;
}

interface Delayed {
  readonly readyAt: number;
  readonly timer: TimerHandle;
}

/**
 * A work queue of string keys with client-go `workqueue` semantics, so that the controller can
 * rely on the guarantees upstream's does:
 *
 * - a key is queued at most once however often it is added;
 * - a key is never handed to two workers at once: adding a key that is being processed marks it
 *   dirty, and it is queued again only when the worker calls {@link WorkQueue.done};
 * - failures back off per key (exponentially, see {@link WorkQueueOptions}) until
 *   {@link WorkQueue.forget} is called.
 *
 * Unlike client-go's default controller rate limiter there is no overall token bucket: the API
 * client and the number of workers already bound the request rate.
 */
export class WorkQueue {
  readonly #clock: Clock;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;

  // Keys ready to be handed out, in order.
  readonly #queue: string[] = [];
  // Keys that need processing: queued ones, and processing ones that were added again.
  readonly #dirty = new Set<string>();
  // Keys handed out by get() and not yet done().
  readonly #processing = new Set<string>();
  readonly #delayed = new Map<string, Delayed>();
  readonly #failures = new Map<string, number>();
  // Sleeping get() calls; each wake-up makes one of them look at the queue again.
  readonly #waiters = new Set<() => void>();
  readonly #drainWaiters = new Set<() => void>();
  readonly #metrics: WorkQueueMetrics | undefined;
  // When each queued key was queued, and each key in progress handed out: for the metrics.
  readonly #queuedAt = new Map<string, number>();
  readonly #handedOutAt = new Map<string, number>();
  #shuttingDown = false;

  /** Creates an empty queue. Throws a `RangeError` for non-positive delays or a base above the maximum. */
  constructor(options: WorkQueueOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#baseDelayMs = options.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
    this.#maxDelayMs = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
    this.#metrics = options.metrics;
    this.#metrics?.track(() => {
      const now = this.#clock.now();
      return [...this.#handedOutAt.values()].map((at) => now - at);
    });
    if (!(this.#baseDelayMs > 0) || !(this.#maxDelayMs > 0)) {
      throw new RangeError(
        `work queue delays must be positive (baseDelayMs ${this.#baseDelayMs}, maxDelayMs ${this.#maxDelayMs})`,
      );
    }
    if (this.#baseDelayMs > this.#maxDelayMs) {
      throw new RangeError(
        `work queue baseDelayMs (${this.#baseDelayMs}) must not exceed maxDelayMs (${this.#maxDelayMs})`,
      );
    }
  }

  /** Queues `key` unless it is already queued; a key being processed is queued again after `done`. Ignored after shutdown. */
  add(key: string): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    this.#enqueue(key);
  }

  #enqueue(key: string): void {
    this.#queue.push(key);
    this.#queuedAt.set(key, this.#clock.now());
    this.#metrics?.added(this.#queue.length);
    this.#wakeOne();
  }

  /**
   * Waits for a key and marks it as being processed; the caller must call {@link WorkQueue.done}
   * with it. Resolves `undefined` once the queue is shut down and no keys are left. If `signal`
   * aborts while waiting, rejects with the signal's reason and takes no key.
   */
  async get(signal?: AbortSignal): Promise<string | undefined> {
    signal?.throwIfAborted();
    // Abort is checked only while sleeping: a waiter woken for a key must take it, or the
    // wake-up would be lost and the key left for sleepers that were never told.
    for (;;) {
      const key = this.#queue.shift();
      if (key !== undefined) {
        this.#dirty.delete(key);
        this.#processing.add(key);
        const now = this.#clock.now();
        this.#metrics?.handedOut(this.#queue.length, now - (this.#queuedAt.get(key) ?? now));
        this.#queuedAt.delete(key);
        this.#handedOutAt.set(key, now);
        return key;
      }
      if (this.#shuttingDown) return undefined;
      await this.#sleep(signal);
    }
  }

  /** Marks `key` as processed; if it was added meanwhile, it is queued again now. */
  done(key: string): void {
    if (!this.#processing.delete(key)) return;
    const handedOutAt = this.#handedOutAt.get(key);
    this.#handedOutAt.delete(key);
    if (handedOutAt !== undefined) this.#metrics?.finished(this.#clock.now() - handedOutAt);
    if (this.#dirty.has(key)) this.#enqueue(key);
    if (this.#processing.size === 0) {
      for (const resolve of this.#drainWaiters) resolve();
      this.#drainWaiters.clear();
    }
  }

  /**
   * Adds `key` after `ms` milliseconds (at once when `ms <= 0`). A key already waiting keeps the
   * earlier of its two ready times, so repeated requeues never postpone work.
   */
  addAfter(key: string, ms: number): void {
    if (this.#shuttingDown) return;
    if (!(ms > 0)) {
      this.add(key);
      return;
    }
    const readyAt = this.#clock.now() + ms;
    const waiting = this.#delayed.get(key);
    if (waiting !== undefined) {
      if (waiting.readyAt <= readyAt) return;
      this.#clock.clearTimeout(waiting.timer);
    }
    const timer = this.#clock.setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, ms);
    this.#delayed.set(key, { readyAt, timer });
  }

  /** Adds `key` after its backoff delay, then doubles that delay (up to the maximum) for next time. */
  addRateLimited(key: string): void {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    this.#metrics?.retried();
    this.addAfter(key, this.backoffFor(failures));
  }

  /** The delay `addRateLimited` uses after `failures` earlier failures. */
  backoffFor(failures: number): number {
    // Math.min before the exponent would overflow to Infinity for long-failing keys.
    return Math.min(this.#baseDelayMs * 2 ** Math.min(failures, 64), this.#maxDelayMs);
  }

  /** Clears `key`'s failure count, so its next `addRateLimited` waits the base delay again. */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  /** How many times `key` was rate-limited since it was last forgotten. */
  retries(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** Number of keys ready to be handed out (not counting delayed or in-flight keys). */
  len(): number {
    return this.#queue.length;
  }

  /** Whether {@link WorkQueue.shutDown} was called. */
  shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /**
   * Stops accepting keys and cancels delayed adds. Keys already queued are still handed out, so
   * workers drain them; `get` resolves `undefined` once none are left.
   */
  shutDown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    for (const { timer } of this.#delayed.values()) this.#clock.clearTimeout(timer);
    this.#delayed.clear();
    for (const wake of this.#waiters) wake();
    this.#waiters.clear();
  }

  /**
   * Shuts down and waits until every key handed out has been marked done, so that a process can
   * exit without abandoning a reconcile halfway. Resolves `true` when drained, `false` if
   * `timeoutMs` passed first.
   */
  async shutDownWithDrain(timeoutMs: number): Promise<boolean> {
    this.shutDown();
    if (this.#processing.size === 0) return true;
    return new Promise<boolean>((resolve) => {
      const drained = () => {
        this.#clock.clearTimeout(timer);
        resolve(true);
      };
      const timer = this.#clock.setTimeout(() => {
        this.#drainWaiters.delete(drained);
        resolve(false);
      }, timeoutMs);
      this.#drainWaiters.add(drained);
    });
  }

  #wakeOne(): void {
    for (const wake of this.#waiters) {
      this.#waiters.delete(wake);
      wake();
      return;
    }
  }

  #sleep(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const wake = () => {
        signal?.removeEventListener("abort", abort);
        resolve();
      };
      // An aborted waiter must leave the set, or a later add would wake it instead of a live one.
      const abort = () => {
        this.#waiters.delete(wake);
        reject(signal?.reason);
      };
      this.#waiters.add(wake);
      signal?.addEventListener("abort", abort, { once: true });
    });
  }
}
