import type { V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { createLogger } from "@volpop/sdk";
import { describe, expect, it } from "vitest";
import { pvc, ref, registration } from "./internal/fixtures.ts";
import { createValidatorMetrics } from "./metrics.ts";
import { createPvcReconciler, pvcKeysReferring } from "./reconciler.ts";
import type { Registration } from "./volume-populator.ts";

interface Recorded {
  readonly pvc: string;
  readonly type: string;
  readonly reason: string;
}

/** A reconciler over an in-memory "cache", recording events into a list. */
function setup() {
  const pvcs = new Map<string, V1PersistentVolumeClaim>();
  let registrations: Registration[] = [];
  const events: Recorded[] = [];
  let failNext = false;
  const metrics = createValidatorMetrics();
  const reconciler = createPvcReconciler({
    getPvc: (namespace, name) => pvcs.get(`${namespace}/${name}`),
    registrations: () => registrations,
    recordEvent: async (claim, event) => {
      if (failNext) {
        failNext = false;
        throw Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
      }
      events.push({ pvc: claim.metadata?.name ?? "", type: event.type, reason: event.reason });
    },
    metrics,
    logger: createLogger({ name: "test", level: "silent" }),
  });
  return {
    reconciler,
    events,
    metrics,
    put: (claim: V1PersistentVolumeClaim) => pvcs.set(`ns/${claim.metadata?.name}`, claim),
    remove: (name: string) => pvcs.delete(`ns/${name}`),
    register: (...r: Registration[]) => {
      registrations = r;
    },
    failNextEvent: () => {
      failNext = true;
    },
    count: async (result: string) =>
      (await metrics.operationCount.get()).values.find((v) => v.labels.result === result)?.value,
  };
}

const unknown = ref("nobody.example.com", "Thing");

describe("createPvcReconciler", () => {
  it("warns about an unregistered kind once, however often the PVC is validated", async () => {
    const t = setup();
    t.put(pvc("a", { dataSourceRef: unknown }));
    for (let i = 0; i < 3; i++) await t.reconciler.reconcile("ns/a");
    expect(t.events).toEqual([{ pvc: "a", type: "Warning", reason: "UnrecognizedDataSourceKind" }]);
    expect(await t.count("invalid")).toBe(3);
    expect(t.reconciler.warned()).toEqual(["ns/a"]);
  });

  it("says so once when the kind is registered later, while the PVC waits", async () => {
    const t = setup();
    t.put(pvc("a", { dataSourceRef: unknown }));
    await t.reconciler.reconcile("ns/a");
    t.register(registration("late", "nobody.example.com", "Thing"));
    await t.reconciler.reconcile("ns/a");
    await t.reconciler.reconcile("ns/a");
    expect(t.events.map((e) => e.reason)).toEqual(["UnrecognizedDataSourceKind", "DataSourceKindRegistered"]);
    expect(await t.count("populator")).toBe(2);
    expect(t.reconciler.warned()).toEqual([]);
  });

  it("does not announce a registration to PVCs it never warned", async () => {
    const t = setup();
    t.register(registration("hello", "hello.example.com", "Hello"));
    t.put(pvc("a", { dataSourceRef: ref("hello.example.com", "Hello") }));
    await t.reconciler.reconcile("ns/a");
    expect(t.events).toEqual([]);
  });

  it("warns again when a registration disappears after it had been announced", async () => {
    const t = setup();
    t.put(pvc("a", { dataSourceRef: unknown }));
    await t.reconciler.reconcile("ns/a");
    t.register(registration("late", "nobody.example.com", "Thing"));
    await t.reconciler.reconcile("ns/a");
    t.register();
    await t.reconciler.reconcile("ns/a");
    expect(t.events.map((e) => e.reason)).toEqual([
      "UnrecognizedDataSourceKind",
      "DataSourceKindRegistered",
      "UnrecognizedDataSourceKind",
    ]);
  });

  it("warns about a PVC recreated under the same name", async () => {
    const t = setup();
    t.put(pvc("a", { dataSourceRef: unknown, uid: "first" }));
    await t.reconciler.reconcile("ns/a");
    t.put(pvc("a", { dataSourceRef: unknown, uid: "second" }));
    await t.reconciler.reconcile("ns/a");
    expect(t.events).toHaveLength(2);
  });

  it("forgets a deleted PVC without counting anything", async () => {
    const t = setup();
    t.put(pvc("a", { dataSourceRef: unknown }));
    await t.reconciler.reconcile("ns/a");
    t.remove("a");
    await t.reconciler.reconcile("ns/a");
    expect(t.reconciler.warned()).toEqual([]);
    expect(await t.count("invalid")).toBe(1);
  });

  it("counts an error and fails when the warning cannot be recorded, and warns on the retry", async () => {
    const t = setup();
    t.put(pvc("a", { dataSourceRef: unknown }));
    t.failNextEvent();
    await expect(t.reconciler.reconcile("ns/a")).rejects.toMatchObject({ code: "TRANSIENT" });
    expect(await t.count("error")).toBe(1);
    expect(await t.count("invalid")).toBe(0);
    expect(t.reconciler.warned()).toEqual([]);
    await t.reconciler.reconcile("ns/a");
    expect(t.events.map((e) => e.reason)).toEqual(["UnrecognizedDataSourceKind"]);
  });

  it("counts every kind of source under its result", async () => {
    const t = setup();
    t.register(registration("hello", "hello.example.com", "Hello"));
    t.put(pvc("empty"));
    t.put(pvc("clone", { dataSourceRef: ref("", "PersistentVolumeClaim") }));
    t.put(pvc("snap", { dataSourceRef: ref("snapshot.storage.k8s.io", "VolumeSnapshot") }));
    t.put(pvc("hello", { dataSourceRef: ref("hello.example.com", "Hello") }));
    for (const name of ["empty", "clone", "snap", "hello"]) await t.reconciler.reconcile(`ns/${name}`);
    expect(
      await Promise.all(["empty", "pvc", "snapshot", "populator", "invalid"].map((r) => t.count(r))),
    ).toEqual([1, 1, 1, 1, 0]);
    expect(t.events).toEqual([]);
  });
});

describe("pvcKeysReferring", () => {
  it("lists the PVCs whose dataSourceRef names one of the kinds", () => {
    const claims = [
      pvc("thing", { dataSourceRef: unknown }),
      pvc("hello", { dataSourceRef: ref("hello.example.com", "Hello") }),
      pvc("other-group", { dataSourceRef: ref("other.example.com", "Thing") }),
      pvc("none"),
      pvc("core", { dataSourceRef: ref("", "Thing") }),
    ];
    expect(
      pvcKeysReferring(claims, [
        { group: "nobody.example.com", kind: "Thing" },
        { group: "", kind: "Thing" },
      ]),
    ).toEqual(["ns/thing", "ns/core"]);
  });
});
