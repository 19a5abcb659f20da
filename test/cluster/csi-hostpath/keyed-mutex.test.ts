import { describe, expect, it } from "vitest";
import { KeyedMutex } from "./keyed-mutex.ts";

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe("KeyedMutex", () => {
  it("runs operations under one key one after another, in order", async () => {
    const mutex = new KeyedMutex();
    const events: string[] = [];
    const op = (name: string) => async () => {
      events.push(`start ${name}`);
      await tick();
      events.push(`end ${name}`);
    };
    await Promise.all([mutex.run("v", op("a")), mutex.run("v", op("b"))]);
    expect(events).toEqual(["start a", "end a", "start b", "end b"]);
  });

  it("runs operations under different keys concurrently", async () => {
    const mutex = new KeyedMutex();
    const events: string[] = [];
    const op = (name: string) => async () => {
      events.push(`start ${name}`);
      await tick();
      events.push(`end ${name}`);
    };
    await Promise.all([mutex.run("v1", op("a")), mutex.run("v2", op("b"))]);
    expect(events.slice(0, 2)).toEqual(["start a", "start b"]);
  });

  it("keeps going after a failed operation", async () => {
    const mutex = new KeyedMutex();
    const failed = mutex.run("v", async () => {
      throw new Error("boom");
    });
    const next = mutex.run("v", async () => "ok");
    await expect(failed).rejects.toThrow("boom");
    await expect(next).resolves.toBe("ok");
  });
});
