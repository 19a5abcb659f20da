import { describe, expect, it } from "vitest";
import { bandwidthPacer, type PacerClock, systemClock } from "./pacer.ts";

/** A clock whose sleeps pass at once, moving its time on and recording how long each was. */
function fakeClock(): PacerClock & { time: number; readonly sleeps: number[] } {
  const clock = {
    time: 0,
    sleeps: [] as number[],
    now: () => clock.time,
    sleep: async (ms: number, signal: AbortSignal | undefined) => {
      signal?.throwIfAborted();
      clock.sleeps.push(ms);
      clock.time += ms;
    },
  };
  return clock;
}

describe("bandwidthPacer", () => {
  it("is no pacer at all without a limit", () => {
    expect(bandwidthPacer(undefined)).toBeUndefined();
    expect(bandwidthPacer(0)).toBeUndefined();
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])("refuses a limit of %s", (limit) => {
    expect(() => bandwidthPacer(limit)).toThrow(RangeError);
  });

  it("holds each take until the bytes so far are within the rate, counted from the start", async () => {
    const clock = fakeClock();
    const pacer = bandwidthPacer(1000, clock);
    await pacer?.take(500, undefined);
    await pacer?.take(500, undefined);
    await pacer?.take(1000, undefined);
    expect(clock.sleeps).toEqual([500, 500, 1000]);
    expect(clock.time).toBe(2000);
  });

  it("counts the time the copy spent moving bytes, so the average stays at the rate", async () => {
    const clock = fakeClock();
    const pacer = bandwidthPacer(1000, clock);
    await pacer?.take(1000, undefined);
    clock.time += 300;
    await pacer?.take(1000, undefined);
    expect(clock.sleeps).toEqual([1000, 700]);
    expect(clock.time).toBe(2000);
  });

  it("lets a copy that fell behind catch up for a second's worth at most, not in one burst", async () => {
    const clock = fakeClock();
    const pacer = bandwidthPacer(1000, clock);
    await pacer?.take(1000, undefined);
    clock.time += 10_000;
    await pacer?.take(1000, undefined);
    expect(clock.sleeps).toEqual([1000]);
    await pacer?.take(1000, undefined);
    expect(clock.sleeps).toEqual([1000, 1000]);
  });

  it("carries short waits over instead of setting a timer for every small file", async () => {
    const clock = fakeClock();
    const pacer = bandwidthPacer(1000, clock);
    for (let i = 0; i < 100; i++) await pacer?.take(1, undefined);
    expect(clock.sleeps.length).toBeLessThanOrEqual(10);
    expect(clock.time).toBeGreaterThanOrEqual(90);
  });

  it("takes nothing for nothing", async () => {
    const clock = fakeClock();
    await bandwidthPacer(1, clock)?.take(0, undefined);
    expect(clock.sleeps).toEqual([]);
  });

  it("refuses to take once the copy is cancelled", async () => {
    const abort = new AbortController();
    abort.abort();
    const clock = fakeClock();
    await expect(bandwidthPacer(1000, clock)?.take(1, abort.signal)).rejects.toMatchObject({
      name: "AbortError",
    });
    expect(clock.sleeps).toEqual([]);
  });

  it("stops waiting as soon as the copy is cancelled", async () => {
    // One byte a second: this take would wait for over a day.
    const pacer = bandwidthPacer(1, systemClock);
    const abort = new AbortController();
    const taking = pacer?.take(100_000, abort.signal);
    setTimeout(() => abort.abort(), 20);
    await expect(taking).rejects.toMatchObject({ name: "AbortError" });
  });

  it("really sleeps on the system clock", async () => {
    const started = performance.now();
    await systemClock.sleep(30, undefined);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
  });
});
