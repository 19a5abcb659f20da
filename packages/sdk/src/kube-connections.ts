/**
 * One connection pool per cluster and credentials, instead of one TLS connection per API call.
 *
 * `@kubernetes/client-node` 2.x builds a new undici `Agent` for every request
 * (`KubeConfig.createDispatcher`, called from `applySecurityAuthentication`; only the older
 * `createAgent` path caches). A new agent has no idle connection, so every call — every patch,
 * create, log read, every watch restart — opens a new TCP connection and does a full TLS
 * handshake. Measured: 200 sequential `listNamespace` calls made 200 connections and cost ~6 ms of
 * CPU each; it was most of our controller's CPU and a good share of its memory (sockets kept alive
 * by agents nobody reuses). client-go keeps one HTTP/2 connection per API server.
 *
 * {@link reuseConnections} makes a KubeConfig hand out one dispatcher per distinct set of
 * connection options. The options are hashed on every request, so a rotated client certificate or
 * CA bundle (files re-read by client-node on each call) gets a new pool, and the old one is closed
 * once its requests (watches included) finish.
 */
import { createHash, type Hash } from "node:crypto";
import type { Cluster, KubeConfig } from "@kubernetes/client-node";

/** What client-node's private `createDispatcher` returns: an undici Dispatcher, or nothing for plain HTTP. */
interface Dispatcher {
  close(): Promise<void>;
}
type CreateDispatcher = (cluster: Cluster | null, agentOptions: object) => Dispatcher | undefined;

const reusing = new WeakSet<KubeConfig>();

/**
 * Makes `kubeConfig` reuse connections across API calls (see the module comment); returns it.
 * Idempotent. Throws if the client-node version in use no longer builds dispatchers the way this
 * relies on, so that an upgrade cannot silently bring back a handshake per request.
 */
export function reuseConnections(kubeConfig: KubeConfig): KubeConfig {
  if (reusing.has(kubeConfig)) return kubeConfig;
  const target = kubeConfig as unknown as { createDispatcher?: CreateDispatcher };
  const original = target.createDispatcher;
  if (typeof original !== "function") {
    throw new Error(
      "@kubernetes/client-node no longer has KubeConfig.createDispatcher: check whether it now reuses connections and update reuseConnections()",
    );
  }
  let current: { key: string; dispatcher: Dispatcher | undefined } | undefined;
  target.createDispatcher = (cluster, agentOptions) => {
    const key = fingerprint([
      cluster?.server ?? "",
      kubeConfig.createDispatcherOptions(cluster, agentOptions),
    ]);
    if (current?.key !== key) {
      const previous = current?.dispatcher;
      current = { key, dispatcher: original.call(kubeConfig, cluster, agentOptions) };
      // Requests still running on the old pool (long watches) finish first; nothing waits for that.
      void previous?.close().catch(() => undefined);
    }
    return current.dispatcher;
  };
  reusing.add(kubeConfig);
  return kubeConfig;
}

/** A digest of plain data: strings, numbers, booleans, byte arrays, arrays and objects (keys sorted). */
export function fingerprint(value: unknown): string {
  const hash = createHash("sha256");
  feed(hash, value);
  return hash.digest("hex");
}

function feed(hash: Hash, value: unknown): void {
  if (value instanceof Uint8Array) {
    hash.update(`b${value.byteLength}:`);
    hash.update(value);
  } else if (Array.isArray(value)) {
    hash.update(`a${value.length}[`);
    for (const item of value) feed(hash, item);
    hash.update("]");
  } else if (value !== null && typeof value === "object") {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    hash.update(`o${entries.length}{`);
    for (const [k, v] of entries) {
      hash.update(JSON.stringify(k));
      feed(hash, v);
    }
    hash.update("}");
  } else {
    hash.update(`${typeof value}:${JSON.stringify(value) ?? ""};`);
  }
}
