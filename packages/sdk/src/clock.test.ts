import { describe, expect, it } from "vitest";
import { systemClock } from "./clock.ts";
import { FakeClock } from "./internal/fake-clock.ts";

describe("systemClock", () => {
  it("reads the wall clock", () => {
    const before = Date.now();
    const now = systemClock.now();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });

  it("fires a timer, and never fires a cleared one", async () => {
    const fired: string[] = [];
    const cleared = systemClock.setTimeout(() => fired.push("cleared"), 0);
    systemClock.clearTimeout(cleared);
    await new Promise<void>((resolve) => systemClock.setTimeout(resolve, 1));
    expect(fired).toEqual([]);
  });
});

describe("FakeClock", () => {
  it("stands still until advanced", () => {
    const clock = new FakeClock(1_000);
    expect(clock.now()).toBe(1_000);
    clock.advance(250);
    expect(clock.now()).toBe(1_250);
  });

  it("fires due timers in due-time order, ties in the order they were set, each seeing its own time", () => {
    const clock = new FakeClock();
    const fired: [string, number][] = [];
    clock.setTimeout(() => fired.push(["c", clock.now()]), 30);
    clock.setTimeout(() => fired.push(["a", clock.now()]), 10);
    clock.setTimeout(() => fired.push(["b1", clock.now()]), 20);
    clock.setTimeout(() => fired.push(["b2", clock.now()]), 20);
    clock.setTimeout(() => fired.push(["late", clock.now()]), 31);
    clock.advance(30);
    expect(fired).toEqual([
      ["a", 10],
      ["b1", 20],
      ["b2", 20],
      ["c", 30],
    ]);
    expect(clock.now()).toBe(30);
    expect(clock.pendingTimers()).toBe(1);
  });

  it("fires timers set by a firing timer when they fall due within the same advance", () => {
    const clock = new FakeClock();
    const fired: number[] = [];
    clock.setTimeout(() => {
      fired.push(clock.now());
      clock.setTimeout(() => fired.push(clock.now()), 5);
    }, 5);
    clock.advance(10);
    expect(fired).toEqual([5, 10]);
  });

  it("does not fire a cleared timer", () => {
    const clock = new FakeClock();
    let fired = false;
    const handle = clock.setTimeout(() => {
      fired = true;
    }, 1);
    clock.clearTimeout(handle);
    clock.advance(5);
    expect(fired).toBe(false);
    expect(clock.pendingTimers()).toBe(0);
  });

  it("treats a negative delay as zero and refuses to go backwards", () => {
    const clock = new FakeClock();
    let fired = false;
    clock.setTimeout(() => {
      fired = true;
    }, -5);
    clock.advance(0);
    expect(fired).toBe(true);
    expect(() => clock.advance(-1)).toThrow(RangeError);
  });
});
