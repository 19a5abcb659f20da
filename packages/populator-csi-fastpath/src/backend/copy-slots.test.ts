import { describe, expect, it } from "vitest";
import { CopySlots } from "./copy-slots.ts";

describe("CopySlots", () => {
  it("lets `limit` copies run and queues the rest in order", async () => {
    const slots = new CopySlots(1);
    const order: string[] = [];
    const first = await slots.acquire();
    const second = slots.acquire().then((release) => {
      order.push("second");
      return release;
    });
    const third = slots.acquire().then((release) => {
      order.push("third");
      release();
    });
    await Promise.resolve();
    expect(order).toEqual([]);
    first();
    (await second)();
    await third;
    expect(order).toEqual(["second", "third"]);
  });

  it("gives up waiting when the signal fires, without losing the slot", async () => {
    const slots = new CopySlots(1);
    const release = await slots.acquire();
    const abort = new AbortController();
    const waiting = slots.acquire(abort.signal);
    abort.abort();
    await expect(waiting).rejects.toMatchObject({ name: "AbortError" });
    release();
    release();
    const again = await slots.acquire();
    again();
  });
});
