import { setTimeout as delay } from "node:timers/promises";

/**
 * Holds a copy to a byte rate, so populating a volume does not starve the other workloads on the same
 * storage. The copy asks before it moves each file or chunk; `take` resolves once those bytes are
 * within the rate.
 */
export interface Pacer {
  /** Waits until `bytes` more keep the copy within its rate; rejects at once when `signal` fires. */
  take(bytes: number, signal: AbortSignal | undefined): Promise<void>;
}

/** Time as the pacer sees it; tests replace it so nothing really waits. */
export interface PacerClock {
  /** Milliseconds on a clock that never goes back. */
  readonly now: () => number;
  /** Resolves after `ms`, or rejects with the signal's reason as soon as it fires. */
  readonly sleep: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
}

/**
 * How far behind its rate a copy may fall and then catch up at full speed. Without a bound, a copy
 * that stalled (slow storage, a long stretch of directories) would make up for it in one burst,
 * which is the very thing the limit is there to prevent; a second still absorbs the time spent in
 * reads, writes and metadata, so the average stays at the rate.
 */
export const CATCH_UP_MS = 1000;

/**
 * Waits shorter than this are not slept but carried over: the debt stays on the books and a later
 * wait pays it. Copies of many small files then do not set a timer per file.
 */
export const MIN_SLEEP_MS = 10;

export const systemClock: PacerClock = {
  now: () => performance.now(),
  sleep: async (ms, signal) => {
    try {
      await delay(ms, undefined, { signal });
    } catch (error) {
      // The same error as the copy's own `throwIfAborted`, so callers see one kind of abort.
      signal?.throwIfAborted();
      throw error;
    }
  },
};

/**
 * A pacer for `maxBytesPerSecond`, or undefined when there is no limit (undefined or 0): an unlimited
 * copy then takes no detour at all. Anything else that is not a positive number is a programming
 * error (flags are checked where they are parsed).
 */
export function bandwidthPacer(
  maxBytesPerSecond: number | undefined,
  clock: PacerClock = systemClock,
): Pacer | undefined {
  if (maxBytesPerSecond === undefined || maxBytesPerSecond === 0) return undefined;
  if (!Number.isFinite(maxBytesPerSecond) || maxBytesPerSecond < 0) {
    throw new RangeError(`maxBytesPerSecond must be a positive number or 0, got ${maxBytesPerSecond}`);
  }
  const msPerByte = 1000 / maxBytesPerSecond;
  // When the bytes taken so far are paid for: the copy is ahead of its rate while this is in the
  // future. It starts now, not earlier, so a copy earns no burst before its first byte.
  let paidUntil = clock.now();
  return {
    async take(bytes, signal) {
      signal?.throwIfAborted();
      if (bytes <= 0) return;
      const now = clock.now();
      paidUntil = Math.max(paidUntil, now - CATCH_UP_MS) + bytes * msPerByte;
      const wait = paidUntil - now;
      if (wait >= MIN_SLEEP_MS) await clock.sleep(wait, signal);
    },
  };
}
