import type { Clock, TimerHandle } from "../clock.ts";

interface FakeTimer {
  readonly id: number;
  readonly dueAt: number;
  readonly fn: () => void;
}

/**
 * A {@link Clock} for tests: time stands still until {@link FakeClock.advance} moves it, and
 * timers fire synchronously inside that call, so a test states exactly how much time passes.
 */
export class FakeClock implements Clock {
  #now: number;
  #nextId = 1;
  #timers = new Map<number, FakeTimer>();

  /** Starts the clock at `startMs` (milliseconds since the epoch; default 0). */
  constructor(startMs = 0) {
    this.#now = startMs;
  }

  /** The fake current time in milliseconds. */
  now(): number {
    return this.#now;
  }

  /** Schedules `fn` at `now() + ms`; negative delays count as 0, as with the real timers. */
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.#nextId++;
    this.#timers.set(id, { id, dueAt: this.#now + Math.max(0, ms), fn });
    return id as unknown as TimerHandle;
  }

  /** Cancels a pending timer. */
  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle as unknown as number);
  }

  /** How many timers are waiting to fire. */
  pendingTimers(): number {
    return this.#timers.size;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way in due-time order
   * (ties in the order they were set). Each timer sees `now()` equal to its due time, and timers
   * that a callback sets are fired too if they fall due before the end.
   */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`cannot advance a clock by ${ms} ms`);
    const target = this.#now + ms;
    for (;;) {
      const next = this.#nextDue(target);
      if (next === undefined) break;
      this.#timers.delete(next.id);
      this.#now = next.dueAt;
      next.fn();
    }
    this.#now = target;
  }

  #nextDue(target: number): FakeTimer | undefined {
    let next: FakeTimer | undefined;
    // Map iteration follows insertion order, so strict `<` keeps ties in the order they were set.
    for (const timer of this.#timers.values()) {
      if (timer.dueAt <= target && (next === undefined || timer.dueAt < next.dueAt)) next = timer;
    }
    return next;
  }
}
