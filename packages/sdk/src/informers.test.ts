import {
  CoreV1Api,
  CustomObjectsApi,
  type KubernetesListObject,
  type V1PersistentVolumeClaim,
} from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { watchCollection } from "./informers.ts";
import { FakeCollection } from "./internal/fake-api-collection.ts";
import { pvc } from "./internal/fixtures.ts";
import { createLogger } from "./logger.ts";

/** A PVC collection watch against `fake`, recording every change it reports in `seen`. */
async function watchFake(
  fake: FakeCollection,
  keep?: (object: V1PersistentVolumeClaim) => boolean,
  pageSize?: number,
  /** List through CustomObjectsApi, whose lists come back as plain JSON (`continue`, not `_continue`). */
  custom = false,
) {
  const kubeConfig = await fake.listen();
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const objects = kubeConfig.makeApiClient(CustomObjectsApi);
  const seen: string[] = [];
  const watch = watchCollection<V1PersistentVolumeClaim>({
    kind: "PersistentVolumeClaim",
    kubeConfig,
    path: "/api/v1/persistentvolumeclaims",
    list: (page) =>
      custom
        ? (objects.listClusterCustomObject({
            group: "x.example.com",
            version: "v1",
            plural: "things",
            ...page,
          }) as Promise<KubernetesListObject<V1PersistentVolumeClaim>>)
        : core.listPersistentVolumeClaimForAllNamespaces({ ...page }),
    ...(keep ? { keep } : {}),
    ...(pageSize ? { pageSize } : {}),
    onChange: (object, change) => seen.push(`${change} ${object.metadata?.name}`),
    logger: createLogger({ name: "test", level: "silent" }),
    restartDelayMs: 20,
  });
  return { watch, seen };
}

/** A PVC named `name` in namespace `ns`, labelled `ours: yes` when it is ours. */
const claim = (name: string, resourceVersion: string, ours: boolean) =>
  pvc({
    metadata: {
      name,
      namespace: "ns",
      uid: `uid-${name}`,
      resourceVersion,
      labels: ours ? { ours: "yes" } : {},
    },
  });

describe("watchCollection", () => {
  let fake: FakeCollection | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  it("counts as synced only once a list succeeded, retrying the failed ones", async () => {
    fake = new FakeCollection();
    fake.items.push(pvc({ metadata: { name: "a", namespace: "ns", uid: "uid-a" } }));
    const { watch, seen } = await watchFake(fake);
    let synced = false;
    const started = watch.start(new AbortController().signal).then(() => {
      synced = true;
    });
    try {
      await until(() => fake !== undefined && fake.lists >= 2);
      expect(synced).toBe(false);
      expect(watch.healthy).toBe(false);
      expect(watch.lastError).toContain("404");

      fake.serving = true;
      await started;
      await until(() => watch.healthy);
      expect(watch.list().map((p) => p.metadata?.name)).toEqual(["a"]);
      expect(watch.get("a", "ns")?.metadata?.uid).toBe("uid-a");
      expect(seen).toEqual(["add a"]);
    } finally {
      await watch.stop();
    }
  });

  it("stops waiting for the first list when the signal aborts", async () => {
    fake = new FakeCollection();
    const { watch } = await watchFake(fake);
    const abort = new AbortController();
    const started = watch.start(abort.signal);
    abort.abort();
    await started;
    expect(watch.healthy).toBe(false);
    await watch.stop();
  });
});

describe("watchCollection with keep", () => {
  let fake: FakeCollection | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  it("caches and reports only kept objects, reports one that stops matching as deleted, and resumes after dropped events", async () => {
    fake = new FakeCollection();
    fake.serving = true;
    fake.items.push(claim("mine", "1", true), claim("foreign", "1", false));
    const { watch, seen } = await watchFake(fake, (object) => object.metadata?.labels?.ours === "yes");
    await watch.start(new AbortController().signal);
    try {
      await until(() => fake?.watching === 1);
      expect(watch.list().map((p) => p.metadata?.name)).toEqual(["mine"]);

      fake.send("ADDED", claim("other", "5", false));
      fake.send("ADDED", claim("new", "6", true));
      await until(() => seen.includes("add new"));
      expect(watch.get("other", "ns")).toBeUndefined();

      fake.send("MODIFIED", claim("mine", "7", false));
      await until(() => seen.includes("delete mine"));
      expect(watch.list().map((p) => p.metadata?.name)).toEqual(["new"]);

      // A foreign object's event is the last one: the watch must resume after it, not before.
      fake.send("MODIFIED", claim("foreign", "9", false));
      await new Promise((resolve) => setTimeout(resolve, 50));
      fake.endWatches();
      await until(() => fake !== undefined && fake.watchedFrom.length === 2);
      expect(fake.watchedFrom).toEqual(["1", "9"]);
      expect(fake.lists).toBe(1);
      expect(seen).toEqual(["add mine", "add new", "delete mine"]);
    } finally {
      await watch.stop();
    }
  });
});

describe("watchCollection lists page by page", () => {
  let fake: FakeCollection | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });
  const names = (count: number) =>
    Array.from({ length: count }, (_, i) => claim(`pvc-${i}`, "1", i % 3 === 0));

  it("reads every page, keeps what it keeps of each, and watches from the list's version", async () => {
    fake = new FakeCollection();
    fake.serving = true;
    fake.items.push(...names(7));
    const { watch } = await watchFake(fake, (object) => object.metadata?.labels?.ours === "yes", 3);
    await watch.start(new AbortController().signal);
    try {
      expect(fake.pages).toEqual(["3/", "3/3", "3/6"]);
      expect(watch.list().map((p) => p.metadata?.name)).toEqual(["pvc-0", "pvc-3", "pvc-6"]);
      await until(() => fake?.watching === 1);
      expect(fake.watchedFrom).toEqual(["1"]);
    } finally {
      await watch.stop();
    }
  });

  it("reads every page of a custom resource list too (plain JSON: `continue`, not `_continue`)", async () => {
    fake = new FakeCollection();
    fake.serving = true;
    fake.items.push(...names(5));
    const { watch } = await watchFake(fake, undefined, 2, true);
    await watch.start(new AbortController().signal);
    try {
      expect(fake.pages).toEqual(["2/", "2/2", "2/4"]);
      expect(watch.list()).toHaveLength(5);
    } finally {
      await watch.stop();
    }
  });

  it("reads the collection whole when a continue token has expired (410), as client-go's pager", async () => {
    fake = new FakeCollection();
    fake.serving = true;
    fake.expireContinue = true;
    fake.items.push(...names(5));
    const { watch } = await watchFake(fake, undefined, 2);
    await watch.start(new AbortController().signal);
    try {
      expect(fake.pages).toEqual(["2/", "2/2", "0/"]);
      expect(watch.list()).toHaveLength(5);
    } finally {
      await watch.stop();
    }
  });
});

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
