import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { CoreV1Api, KubeConfig, type V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { watchCollection } from "./informers.ts";
import { pvc } from "./internal/fixtures.ts";
import { createLogger } from "./logger.ts";

/** A stand-in API server for one collection: lists fail until `serving`, watches stay open. */
class FakeCollection {
  serving = false;
  lists = 0;
  readonly items: V1PersistentVolumeClaim[] = [];
  readonly #watches = new Set<ServerResponse>();
  readonly server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.searchParams.get("watch") === "true") {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.flushHeaders();
      this.#watches.add(res);
      res.on("close", () => this.#watches.delete(res));
      return;
    }
    this.lists++;
    if (!this.serving) {
      res.writeHead(404, { "Content-Type": "application/json" });
      res.end(
        JSON.stringify({
          kind: "Status",
          apiVersion: "v1",
          status: "Failure",
          reason: "NotFound",
          code: 404,
        }),
      );
      return;
    }
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(
      JSON.stringify({
        kind: "PersistentVolumeClaimList",
        apiVersion: "v1",
        metadata: { resourceVersion: "1" },
        items: this.items,
      }),
    );
  });

  async listen(): Promise<KubeConfig> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    const { port } = this.server.address() as AddressInfo;
    const config = new KubeConfig();
    config.loadFromOptions({
      clusters: [{ name: "fake", server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: "fake" }],
      contexts: [{ name: "fake", cluster: "fake", user: "fake" }],
      currentContext: "fake",
    });
    return config;
  }

  async close(): Promise<void> {
    for (const res of this.#watches) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe("watchCollection", () => {
  let fake: FakeCollection | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  it("counts as synced only once a list succeeded, retrying the failed ones", async () => {
    fake = new FakeCollection();
    fake.items.push(pvc({ metadata: { name: "a", namespace: "ns", uid: "uid-a" } }));
    const kubeConfig = await fake.listen();
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const seen: string[] = [];
    const watch = watchCollection<V1PersistentVolumeClaim>({
      kind: "PersistentVolumeClaim",
      kubeConfig,
      path: "/api/v1/persistentvolumeclaims",
      list: () => core.listPersistentVolumeClaimForAllNamespaces(),
      onChange: (object, change) => seen.push(`${change} ${object.metadata?.name}`),
      logger: createLogger({ name: "test", level: "silent" }),
      restartDelayMs: 20,
    });
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
    const kubeConfig = await fake.listen();
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const watch = watchCollection<V1PersistentVolumeClaim>({
      kind: "PersistentVolumeClaim",
      kubeConfig,
      path: "/api/v1/persistentvolumeclaims",
      list: () => core.listPersistentVolumeClaimForAllNamespaces(),
      onChange: () => undefined,
      logger: createLogger({ name: "test", level: "silent" }),
      restartDelayMs: 20,
    });
    const abort = new AbortController();
    const started = watch.start(abort.signal);
    abort.abort();
    await started;
    expect(watch.healthy).toBe(false);
    await watch.stop();
  });
});

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
