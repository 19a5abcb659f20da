import { KubeConfig } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { addPopulator } from "../controller.ts";
import { fakePopulator } from "../internal/fixtures.ts";
import { createLogger } from "../logger.ts";
import { createManager } from "./manager.ts";
import type { Runnable } from "./runnable.ts";

const logger = createLogger({ name: "test", level: "silent" });

/** A Manager with a cluster nobody listens at: these tests make no call to it. */
function manager() {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: "none", server: "https://127.0.0.1:9", skipTLSVerify: true }],
    users: [{ name: "none" }],
    contexts: [{ name: "none", cluster: "none", user: "none" }],
    currentContext: "none",
  });
  return createManager({ kubeConfig, logger });
}

/** A runnable that runs until stopped, recording when it stopped. */
function longRunning(name: string, stopped: string[], needsLeaderElection?: boolean): Runnable {
  return {
    name,
    ...(needsLeaderElection === undefined ? {} : { needsLeaderElection }),
    start: (signal) =>
      new Promise<void>((resolve) =>
        signal.addEventListener(
          "abort",
          () => {
            stopped.push(name);
            resolve();
          },
          { once: true },
        ),
      ),
  };
}

describe("createManager", () => {
  it("stops every other runnable when one fails, and rejects with that failure once all have stopped", async () => {
    const m = manager();
    const stopped: string[] = [];
    m.add(longRunning("controller-a", stopped));
    m.add(longRunning("webhook", stopped, false));
    m.add({
      name: "controller-b",
      start: async () => {
        throw new Error("the backend refused to start");
      },
    });
    await expect(m.run()).rejects.toThrow("the backend refused to start");
    expect(stopped.sort()).toEqual(["controller-a", "webhook"]);
  });

  it("runs runnables that need no leadership until stopped, even with nothing to lead", async () => {
    const m = manager();
    const stopped: string[] = [];
    m.add(longRunning("webhook", stopped, false));
    const stop = new AbortController();
    const running = m.run(stop.signal);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stopped).toEqual([]);
    stop.abort();
    await running;
    expect(stopped).toEqual(["webhook"]);
  });

  it("gathers the runnables' readiness", () => {
    const m = manager();
    m.add({ ...longRunning("a", []), readyz: () => [{ name: "watch-Pod", ok: false, reason: "forbidden" }] });
    m.add({ ...longRunning("b", []), readyz: () => [{ name: "backend", ok: true }] });
    expect(m.readyz()).toEqual([
      { name: "watch-Pod", ok: false, reason: "forbidden" },
      { name: "backend", ok: true },
    ]);
  });

  it("refuses runnables added once it runs, and a second run", async () => {
    const m = manager();
    const stop = new AbortController();
    const running = m.run(stop.signal);
    expect(() => m.add(longRunning("late", []))).toThrow(/added after the manager started/);
    await expect(m.run()).rejects.toThrow(/runs once/);
    stop.abort();
    await running;
  });

  it("refuses a second populator with the same prefix: they would share its finalizer and race", () => {
    const m = manager();
    addPopulator(m, { populator: fakePopulator(), namespace: "populators" });
    expect(() => addPopulator(m, { populator: fakePopulator(), namespace: "other" })).toThrow(
      /prefix hello.example.com was added to this manager already/,
    );
  });
});
