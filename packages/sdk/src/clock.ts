/**
 * Time as the SDK sees it. Everything that waits or measures takes a `Clock` so that tests can
 * drive time by hand (see `internal/fake-clock.ts`) instead of sleeping.
 */

declare const timerHandleBrand: unique symbol;

/** Opaque handle for a timer started by {@link Clock.setTimeout}; only good for passing back to `clearTimeout`. */
export type TimerHandle = { readonly [timerHandleBrand]: true };

/** A source of the current time and of one-shot timers. */
export interface Clock {
  /** Milliseconds since the Unix epoch, like `Date.now()`. */
  now(): number;
  /** Calls `fn` once, `ms` milliseconds from now. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer; a timer that already fired or was cancelled is ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock: `Date.now()` and the global timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms) as unknown as TimerHandle,
  clearTimeout: (handle) => clearTimeout(handle as unknown as NodeJS.Timeout),
};
