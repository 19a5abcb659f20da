import type { V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { TerminalError } from "../errors.ts";
import { FakeClock } from "../internal/fake-clock.ts";
import { FakeInformer } from "../internal/fake-informer.ts";
import { pod, pvc } from "../internal/fixtures.ts";
import { createLogger } from "../logger.ts";
import { type ControllerOptions, createController, type Reconciler } from "./controller.ts";

const logger = createLogger({ name: "test", level: "silent" });

/** Lets queued promise callbacks run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await settle();
  expect(check()).toBe(true);
}

describe("createController", () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  /** A running controller over a PVC and a pod informer, recording each key it reconciles. */
  function start(reconcile?: Reconciler, options: Partial<ControllerOptions> = {}) {
    const clock = new FakeClock(1_000_000);
    const pvcs = new FakeInformer<V1PersistentVolumeClaim>("PersistentVolumeClaim");
    const pods = new FakeInformer<V1Pod>("Pod");
    const reconciled: string[] = [];
    const controller = createController({
      name: "test",
      workers: 2,
      logger,
      clock,
      shutdownGraceMs: 1000,
      reconcile:
        reconcile ??
        (async (key) => {
          reconciled.push(key);
          return undefined;
        }),
      ...options,
    });
    controller.watch(pvcs, (object) => `${object.metadata?.namespace}/${object.metadata?.name}`);
    // A pod names the PVCs it serves in a label: several, one, or none.
    controller.watch(pods, (object) => object.metadata?.labels?.for?.split(",").filter(Boolean));
    const abort = new AbortController();
    const running = controller.start(abort.signal);
    stops.push(async () => {
      abort.abort();
      await running;
    });
    return { clock, pvcs, pods, reconciled, controller, abort, running };
  }

  it("reconciles nothing until every watched cache is complete, then each queued key once", async () => {
    const { pvcs, pods, reconciled } = start();
    pvcs.set(pvc({ metadata: { namespace: "a", name: "one" } }));
    pvcs.set(pvc({ metadata: { namespace: "a", name: "one", resourceVersion: "2" } }));
    pods.set(pod({ metadata: { name: "p", labels: { for: "a/one,a/two" } } }));
    pvcs.sync();
    await settle();
    expect(reconciled).toEqual([]);
    pods.sync();
    await until(() => reconciled.length === 2);
    await settle();
    expect(reconciled.sort()).toEqual(["a/one", "a/two"]);
  });

  it("maps a change to no key when the mapper gives none", async () => {
    const { pvcs, pods, reconciled } = start();
    pvcs.sync();
    pods.sync();
    pods.set(pod({ metadata: { name: "unlabelled", labels: {} } }));
    pvcs.set(pvc({ metadata: { namespace: "a", name: "x" } }));
    await until(() => reconciled.length === 1);
    expect(reconciled).toEqual(["a/x"]);
  });

  it("reconciles a key again after the delay it asked for, not before", async () => {
    let calls = 0;
    const { clock, pvcs, pods } = start(async () => {
      calls++;
      return calls === 1 ? { requeueAfterMs: 5000 } : undefined;
    });
    pvcs.sync();
    pods.sync();
    pvcs.set(pvc({ metadata: { namespace: "a", name: "x" } }));
    await until(() => calls === 1);
    clock.advance(4999);
    await settle();
    expect(calls).toBe(1);
    clock.advance(1);
    await until(() => calls === 2);
  });

  it("retries a failed reconcile with backoff, and never one that failed for good", async () => {
    const attempts = new Map<string, number>();
    const { clock, pvcs, pods } = start(async (key) => {
      attempts.set(key, (attempts.get(key) ?? 0) + 1);
      if (key === "a/flaky" && attempts.get(key) === 1) throw new Error("connection reset");
      if (key === "a/bad") throw new TerminalError("cannot be done");
      return undefined;
    });
    pvcs.sync();
    pods.sync();
    pvcs.set(pvc({ metadata: { namespace: "a", name: "flaky" } }));
    pvcs.set(pvc({ metadata: { namespace: "a", name: "bad" } }));
    await until(() => attempts.get("a/flaky") === 1 && attempts.get("a/bad") === 1);
    clock.advance(60_000);
    await until(() => attempts.get("a/flaky") === 2);
    clock.advance(600_000);
    await settle();
    expect(attempts.get("a/bad")).toBe(1);
    expect(attempts.get("a/flaky")).toBe(2);
  });

  it("reconciles at most `workers` keys at once", async () => {
    let running = 0;
    let most = 0;
    const release = Promise.withResolvers<void>();
    const { pvcs, pods } = start(async () => {
      running++;
      most = Math.max(most, running);
      await release.promise;
      running--;
      return undefined;
    });
    pvcs.sync();
    pods.sync();
    for (const name of ["a", "b", "c", "d", "e"]) pvcs.set(pvc({ metadata: { namespace: "n", name } }));
    await until(() => running === 2);
    await settle();
    expect(most).toBe(2);
    release.resolve();
    await until(() => running === 0);
  });

  it("reports on readiness each watch that has not synced, with the reason it last failed", async () => {
    const { pvcs, pods, controller } = start(undefined, {
      readyz: () => [{ name: "backend", ok: true }],
    });
    pods.lastError = "pods is forbidden";
    expect(controller.readyz()).toEqual([
      { name: "watch-PersistentVolumeClaim", ok: false, reason: "not synced yet" },
      { name: "watch-Pod", ok: false, reason: "pods is forbidden" },
      { name: "backend", ok: true },
    ]);
    pvcs.sync();
    pods.sync();
    pods.lastError = undefined;
    expect(controller.readyz().every((check) => check.ok)).toBe(true);
  });

  it("queues every key the resync gives, each period", async () => {
    const reconciled: string[] = [];
    const { clock, pvcs, pods } = start(
      async (key) => {
        reconciled.push(key);
        return undefined;
      },
      { resyncPeriodMs: 60_000, resyncKeys: () => ["a/x", "a/y"] },
    );
    pvcs.sync();
    pods.sync();
    await settle();
    expect(reconciled).toEqual([]);
    clock.advance(60_000);
    await until(() => reconciled.length === 2);
    clock.advance(60_000);
    await until(() => reconciled.length === 4);
  });

  it("starts what the reconciler needs after the caches and before any reconcile, and stops it after", async () => {
    const order: string[] = [];
    const { pvcs, pods, abort, running } = start(
      async (key) => {
        order.push(`reconcile ${key}`);
        return undefined;
      },
      {
        beforeWorkers: async () => {
          order.push("before");
        },
        afterWorkers: async () => {
          order.push("after");
        },
      },
    );
    pvcs.set(pvc({ metadata: { namespace: "a", name: "x" } }));
    pvcs.sync();
    pods.sync();
    await until(() => order.length === 2);
    abort.abort();
    await running;
    expect(order).toEqual(["before", "reconcile a/x", "after"]);
  });

  it("refuses a worker count that is not a whole number of at least 1", () => {
    for (const workers of [0, 1.5, Number.NaN])
      expect(() =>
        createController({
          name: "x",
          workers,
          logger,
          clock: new FakeClock(),
          reconcile: async () => undefined,
        }),
      ).toThrow(/workers must be a whole number/);
  });
});
