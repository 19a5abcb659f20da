import {
  type KubeConfig,
  type KubernetesObject,
  type ListPromise,
  makeInformer,
} from "@kubernetes/client-node";
import type { Logger } from "./logger.ts";

/** A watched kind: a local cache kept current by a client-node informer. */
export interface WatchedResource<T extends KubernetesObject> {
  readonly kind: string;
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): readonly T[];
  /** True once the first list arrived and while the watch runs (readiness reports it). */
  readonly healthy: boolean;
  readonly lastError: string | undefined;
}

export interface WatchOptions<T extends KubernetesObject> {
  readonly kind: string;
  readonly kubeConfig: KubeConfig;
  /** API path of the collection, e.g. `/api/v1/persistentvolumeclaims`. */
  readonly path: string;
  readonly list: ListPromise<T>;
  readonly labelSelector?: string;
  /** Called for every add, update and delete (with the object as last seen). */
  readonly onChange: (object: T) => void;
  readonly logger: Logger;
}

export interface RunningWatch<T extends KubernetesObject> extends WatchedResource<T> {
  /** Resolves after the initial list; the cache is complete from then on. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

const RESTART_BASE_MS = 1000;
const RESTART_MAX_MS = 30_000;

/**
 * Wraps a client-node informer: restarts it with backoff when its watch fails (client-node stops on
 * error), and reports health so that `/readyz` says when the controller works from a stale cache.
 */
export function watchResource<T extends KubernetesObject>(options: WatchOptions<T>): RunningWatch<T> {
  const informer = makeInformer<T>(options.kubeConfig, options.path, options.list, options.labelSelector);
  const logger = options.logger.child({ watch: options.kind });
  let stopped = false;
  let synced = false;
  let failing = false;
  let lastError: string | undefined;
  let restartDelay = RESTART_BASE_MS;
  let restartTimer: NodeJS.Timeout | undefined;

  for (const verb of ["add", "update", "delete"] as const)
    informer.on(verb, (object) => options.onChange(object));
  informer.on("connect", () => {
    failing = false;
    restartDelay = RESTART_BASE_MS;
  });
  informer.on("error", (error) => {
    if (stopped) return;
    failing = true;
    lastError = error instanceof Error ? error.message : String(error);
    logger.warn({ err: error, retryInMs: restartDelay }, "watch failed; restarting");
    restartTimer = setTimeout(() => {
      informer.start().then(
        () => {
          failing = false;
          restartDelay = RESTART_BASE_MS;
        },
        (startError: unknown) => logger.warn({ err: startError }, "watch restart failed"),
      );
    }, restartDelay);
    restartDelay = Math.min(RESTART_MAX_MS, restartDelay * 2);
  });

  return {
    kind: options.kind,
    get: (name, namespace) => informer.get(name, namespace),
    list: (namespace) => informer.list(namespace),
    get healthy() {
      return synced && !failing;
    },
    get lastError() {
      return lastError;
    },
    async start() {
      await informer.start();
      synced = true;
    },
    async stop() {
      stopped = true;
      if (restartTimer) clearTimeout(restartTimer);
      await informer.stop();
    },
  };
}
