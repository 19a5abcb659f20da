import { describe, expect, it } from "vitest";
import { FakeClock } from "./internal/fake-clock.ts";
import { DEFAULT_BASE_DELAY_MS, DEFAULT_MAX_DELAY_MS, WorkQueue } from "./queue.ts";

function setup(options: { baseDelayMs?: number; maxDelayMs?: number } = {}) {
  const clock = new FakeClock();
  return { clock, queue: new WorkQueue({ clock, ...options }) };
}

// Lets promise callbacks run, without real time passing.
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

// Takes every ready key, marking each done; for asserting what is queued right now.
async function drainReady(queue: WorkQueue): Promise<string[]> {
  const keys: string[] = [];
  while (queue.len() > 0) {
    const key = await queue.get();
    if (key === undefined) break;
    keys.push(key);
    queue.done(key);
  }
  return keys;
}

describe("WorkQueue", () => {
  describe("adding", () => {
    it("hands keys out in the order they were added", async () => {
      const { queue } = setup();
      for (const key of ["pvc/a/1", "pvc/a/2", "pvc/b/1"]) queue.add(key);
      expect(await drainReady(queue)).toEqual(["pvc/a/1", "pvc/a/2", "pvc/b/1"]);
    });

    it("queues a key once however often it is added", async () => {
      const { queue } = setup();
      queue.add("a");
      queue.add("b");
      queue.add("a");
      queue.add("a");
      expect(queue.len()).toBe(2);
      expect(await drainReady(queue)).toEqual(["a", "b"]);
    });

    it("does not hand out a key being processed again until it is done, then re-queues it once", async () => {
      const { queue } = setup();
      queue.add("a");
      const key = await queue.get();
      expect(key).toBe("a");
      queue.add("a");
      queue.add("a");
      expect(queue.len()).toBe(0);
      queue.done("a");
      expect(queue.len()).toBe(1);
      expect(await queue.get()).toBe("a");
    });

    it("does not re-queue a processed key that was not added again", async () => {
      const { queue } = setup();
      queue.add("a");
      queue.done((await queue.get()) as string);
      expect(queue.len()).toBe(0);
    });

    it("ignores done for a key that is not being processed", () => {
      const { queue } = setup();
      queue.add("a");
      queue.done("a");
      expect(queue.len()).toBe(1);
    });
  });

  describe("waiting", () => {
    it("wakes a waiting get when a key is added", async () => {
      const { queue } = setup();
      const pending = queue.get();
      queue.add("a");
      await expect(pending).resolves.toBe("a");
    });

    it("gives each waiter its own key", async () => {
      const { queue } = setup();
      const first = queue.get();
      const second = queue.get();
      queue.add("a");
      queue.add("b");
      expect([await first, await second].sort()).toEqual(["a", "b"]);
    });

    it("keeps a woken waiter waiting when another get took the key first", async () => {
      const { queue } = setup();
      const woken = queue.get();
      queue.add("a");
      const thief = queue.get();
      await expect(thief).resolves.toBe("a");
      await settle();
      queue.add("b");
      await expect(woken).resolves.toBe("b");
    });

    it("rejects an aborted get with the signal's reason and gives the next key to a live waiter", async () => {
      const { queue } = setup();
      const controller = new AbortController();
      const aborted = queue.get(controller.signal);
      const live = queue.get();
      controller.abort(new Error("stopping"));
      await expect(aborted).rejects.toThrow("stopping");
      queue.add("a");
      await expect(live).resolves.toBe("a");
    });

    it("rejects at once when the signal is already aborted, leaving the key queued", async () => {
      const { queue } = setup();
      queue.add("a");
      await expect(queue.get(AbortSignal.abort(new Error("gone")))).rejects.toThrow("gone");
      expect(queue.len()).toBe(1);
    });
  });

  describe("rate limiting", () => {
    it("doubles the delay from 500 ms and caps it at 5 minutes by default", () => {
      const { queue } = setup();
      expect(DEFAULT_BASE_DELAY_MS).toBe(500);
      expect(DEFAULT_MAX_DELAY_MS).toBe(300_000);
      const delays = [0, 1, 2, 3, 9, 10, 100, 5000].map((failures) => queue.backoffFor(failures));
      expect(delays).toEqual([500, 1_000, 2_000, 4_000, 256_000, 300_000, 300_000, 300_000]);
    });

    it.each([
      { retriesBefore: 0, waitsMs: 100 },
      { retriesBefore: 1, waitsMs: 200 },
      { retriesBefore: 2, waitsMs: 400 },
      { retriesBefore: 3, waitsMs: 800 },
      { retriesBefore: 4, waitsMs: 1_000 },
      { retriesBefore: 8, waitsMs: 1_000 },
    ])(
      "re-adds a key that failed $retriesBefore times before after $waitsMs ms",
      async ({ retriesBefore, waitsMs }) => {
        const { clock, queue } = setup({ baseDelayMs: 100, maxDelayMs: 1_000 });
        for (let i = 0; i < retriesBefore; i++) queue.addRateLimited("a");
        clock.advance(60_000);
        await drainReady(queue);

        queue.addRateLimited("a");
        expect(queue.retries("a")).toBe(retriesBefore + 1);
        clock.advance(waitsMs - 1);
        expect(queue.len()).toBe(0);
        clock.advance(1);
        expect(queue.len()).toBe(1);
      },
    );

    it("keeps separate backoff per key", () => {
      const { queue } = setup();
      queue.addRateLimited("a");
      queue.addRateLimited("a");
      queue.addRateLimited("b");
      expect(queue.retries("a")).toBe(2);
      expect(queue.retries("b")).toBe(1);
      expect(queue.retries("c")).toBe(0);
    });

    it("starts again from the base delay after forget", async () => {
      const { clock, queue } = setup({ baseDelayMs: 100, maxDelayMs: 10_000 });
      queue.addRateLimited("a");
      queue.addRateLimited("a");
      queue.addRateLimited("a");
      queue.forget("a");
      expect(queue.retries("a")).toBe(0);
      clock.advance(10_000);
      await drainReady(queue);

      queue.addRateLimited("a");
      clock.advance(99);
      expect(queue.len()).toBe(0);
      clock.advance(1);
      expect(queue.len()).toBe(1);
    });

    it.each([
      { options: { baseDelayMs: 0 }, problem: /positive/ },
      { options: { maxDelayMs: -1 }, problem: /positive/ },
      { options: { baseDelayMs: 10, maxDelayMs: 5 }, problem: /must not exceed/ },
    ])("rejects the delays $options", ({ options, problem }) => {
      expect(() => new WorkQueue(options)).toThrow(problem);
    });
  });

  describe("adding after a delay", () => {
    it("hands keys out when they fall due, in due order", async () => {
      const { clock, queue } = setup();
      queue.addAfter("late", 300);
      queue.addAfter("early", 100);
      queue.addAfter("middle", 200);
      queue.add("now");
      expect(await drainReady(queue)).toEqual(["now"]);
      clock.advance(150);
      expect(await drainReady(queue)).toEqual(["early"]);
      clock.advance(150);
      expect(await drainReady(queue)).toEqual(["middle", "late"]);
    });

    it("adds at once for a zero or negative delay", () => {
      const { queue } = setup();
      queue.addAfter("a", 0);
      queue.addAfter("b", -5);
      expect(queue.len()).toBe(2);
    });

    it("keeps the earlier ready time when a waiting key is added again after a delay", async () => {
      const { clock, queue } = setup();
      queue.addAfter("a", 100);
      queue.addAfter("a", 500);
      clock.advance(100);
      expect(queue.len()).toBe(1);
      await drainReady(queue);
      clock.advance(1_000);
      expect(queue.len()).toBe(0);

      queue.addAfter("b", 500);
      queue.addAfter("b", 100);
      clock.advance(100);
      expect(queue.len()).toBe(1);
      expect(clock.pendingTimers()).toBe(0);
    });

    it("wakes a waiting get when a delayed key falls due", async () => {
      const { clock, queue } = setup();
      const pending = queue.get();
      queue.addAfter("a", 1_000);
      clock.advance(1_000);
      await expect(pending).resolves.toBe("a");
    });
  });

  describe("shutting down", () => {
    it("releases waiting gets with undefined", async () => {
      const { queue } = setup();
      const waiters = [queue.get(), queue.get()];
      queue.shutDown();
      expect(await Promise.all(waiters)).toEqual([undefined, undefined]);
      expect(queue.shuttingDown()).toBe(true);
    });

    it("still hands out queued keys, then undefined", async () => {
      const { queue } = setup();
      queue.add("a");
      queue.add("b");
      queue.shutDown();
      expect(await queue.get()).toBe("a");
      expect(await queue.get()).toBe("b");
      expect(await queue.get()).toBeUndefined();
    });

    it("ignores adds and cancels delayed adds", async () => {
      const { clock, queue } = setup();
      queue.addAfter("delayed", 100);
      queue.addRateLimited("limited");
      queue.shutDown();
      queue.add("a");
      queue.addAfter("b", 10);
      expect(clock.pendingTimers()).toBe(0);
      clock.advance(1_000);
      expect(queue.len()).toBe(0);
      expect(await queue.get()).toBeUndefined();
    });

    it("drains: waits until every key handed out is done", async () => {
      const { queue } = setup();
      queue.add("a");
      queue.add("b");
      const a = (await queue.get()) as string;
      const b = (await queue.get()) as string;
      let drained: boolean | undefined;
      const draining = queue.shutDownWithDrain(10_000).then((result) => {
        drained = result;
      });
      queue.done(a);
      await settle();
      expect(drained).toBeUndefined();
      queue.done(b);
      await draining;
      expect(drained).toBe(true);
    });

    it("gives up draining after the timeout", async () => {
      const { clock, queue } = setup();
      queue.add("a");
      await queue.get();
      const draining = queue.shutDownWithDrain(5_000);
      clock.advance(4_999);
      await settle();
      clock.advance(1);
      await expect(draining).resolves.toBe(false);
    });

    it("drains at once when nothing is in flight", async () => {
      const { clock, queue } = setup();
      await expect(queue.shutDownWithDrain(1_000)).resolves.toBe(true);
      expect(clock.pendingTimers()).toBe(0);
    });

    it("lets a worker loop finish its key and exit cleanly", async () => {
      const { queue } = setup();
      const processed: string[] = [];
      const worker = (async () => {
        for (;;) {
          const key = await queue.get();
          if (key === undefined) return;
          await settle();
          processed.push(key);
          queue.done(key);
        }
      })();
      queue.add("a");
      queue.add("b");
      await settle();
      await expect(queue.shutDownWithDrain(1_000)).resolves.toBe(true);
      await worker;
      expect(processed).toEqual(["a", "b"]);
    });
  });
});
