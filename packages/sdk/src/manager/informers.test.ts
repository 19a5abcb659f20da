import { CoreV1Api, type KubeConfig, type V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { FakeCollection } from "../internal/fake-api-collection.ts";
import { pvc } from "../internal/fixtures.ts";
import { createLogger } from "../logger.ts";
import { type InformerRequest, SharedInformers } from "./informers.ts";

const logger = createLogger({ name: "test", level: "silent" });

const claim = (name: string, resourceVersion: string, owner: string) =>
  pvc({ metadata: { name, namespace: "ns", uid: `uid-${name}`, resourceVersion, labels: { owner } } });

const ownedBy =
  (owner: string) =>
  (object: V1PersistentVolumeClaim): boolean =>
    object.metadata?.labels?.owner === owner;

/** The request a controller makes for every PVC, keeping what `keep` accepts. */
function pvcRequest(
  kubeConfig: KubeConfig,
  keep?: (object: V1PersistentVolumeClaim) => boolean,
  labelSelector?: string,
): InformerRequest<V1PersistentVolumeClaim> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  return {
    kind: "PersistentVolumeClaim",
    path: "/api/v1/persistentvolumeclaims",
    list: (page) =>
      core.listPersistentVolumeClaimForAllNamespaces({
        ...page,
        ...(labelSelector ? { labelSelector } : {}),
      }),
    ...(labelSelector ? { labelSelector } : {}),
    ...(keep ? { keep } : {}),
  };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(check()).toBe(true);
}

describe("SharedInformers", () => {
  let fake: FakeCollection | undefined;
  let informers: SharedInformers | undefined;
  const abort = new AbortController();
  afterEach(async () => {
    await informers?.stop();
    await fake?.close();
    fake = undefined;
  });

  it("serves every reader of one collection from one list and one watch, each its own objects", async () => {
    fake = new FakeCollection();
    fake.serving = true;
    fake.items.push(claim("a1", "1", "a"), claim("b1", "1", "b"), claim("other", "1", "nobody"));
    const kubeConfig = await fake.listen();
    informers = new SharedInformers({ kubeConfig, logger });
    const a = informers.informer(pvcRequest(kubeConfig, ownedBy("a")));
    const b = informers.informer(pvcRequest(kubeConfig, ownedBy("b")));
    const seenA: string[] = [];
    const seenB: string[] = [];
    a.onChange((o, change) => seenA.push(`${change} ${o.metadata?.name}`));
    b.onChange((o, change) => seenB.push(`${change} ${o.metadata?.name}`));
    expect(informers.watchCount).toBe(1);
    informers.start(abort.signal);
    await a.synced(abort.signal);
    await b.synced(abort.signal);
    await until(() => fake?.watching === 1);

    expect(fake.lists).toBe(1);
    expect(a.hasSynced && b.hasSynced).toBe(true);
    expect(a.list().map((o) => o.metadata?.name)).toEqual(["a1"]);
    expect(b.list().map((o) => o.metadata?.name)).toEqual(["b1"]);
    expect(a.get("b1", "ns")).toBeUndefined();
    expect(b.get("b1", "ns")?.metadata?.uid).toBe("uid-b1");

    fake.send("ADDED", claim("a2", "2", "a"));
    fake.send("ADDED", claim("stranger", "3", "nobody"));
    await until(() => seenA.length === 2);
    expect(seenA).toEqual(["add a1", "add a2"]);
    expect(seenB).toEqual(["add b1"]);
    // The union of what the readers keep is all the shared cache holds: the cluster's other PVCs are dropped.
    expect(a.list().length + b.list().length).toBe(3);
  });

  it("tells only the reader that stops keeping an object that it is gone", async () => {
    fake = new FakeCollection();
    fake.serving = true;
    fake.items.push(claim("x", "1", "a"));
    const kubeConfig = await fake.listen();
    informers = new SharedInformers({ kubeConfig, logger });
    const a = informers.informer(pvcRequest(kubeConfig, ownedBy("a")));
    const everything = informers.informer(pvcRequest(kubeConfig));
    const seenA: string[] = [];
    const seenAll: string[] = [];
    a.onChange((o, change) => seenA.push(`${change} ${o.metadata?.name}`));
    everything.onChange((o, change) => seenAll.push(`${change} ${o.metadata?.name}`));
    informers.start(abort.signal);
    await everything.synced(abort.signal);
    await until(() => fake?.watching === 1);

    fake.send("MODIFIED", claim("x", "2", "b"));
    await until(() => seenAll.length === 2);
    expect(seenA).toEqual(["add x", "delete x"]);
    expect(seenAll).toEqual(["add x", "update x"]);
    expect(a.get("x", "ns")).toBeUndefined();
    expect(everything.get("x", "ns")?.metadata?.labels?.owner).toBe("b");
  });

  it("gives a collection asked for with other selectors a watch of its own", async () => {
    fake = new FakeCollection();
    const kubeConfig = await fake.listen();
    informers = new SharedInformers({ kubeConfig, logger });
    informers.informer(pvcRequest(kubeConfig));
    informers.informer(pvcRequest(kubeConfig, ownedBy("a")));
    informers.informer(pvcRequest(kubeConfig, undefined, "app=x"));
    expect(informers.watchCount).toBe(2);
  });

  it("refuses a request once the watches have started: what they keep is fixed by then", async () => {
    fake = new FakeCollection();
    const kubeConfig = await fake.listen();
    informers = new SharedInformers({ kubeConfig, logger });
    informers.informer(pvcRequest(kubeConfig));
    informers.start(abort.signal);
    expect(() => informers?.informer(pvcRequest(kubeConfig))).toThrow(
      /requested after the informers started/,
    );
  });
});
