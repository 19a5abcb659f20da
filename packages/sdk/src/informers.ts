/**
 * A local cache of one collection, kept current by a client-node informer, restarted with backoff
 * when its watch fails (client-node stops for good on an error).
 *
 * It counts as synced only once a list has *succeeded*: client-node's `start()` resolves even when
 * the initial list fails (it only reports the failure to error handlers), and a controller deciding
 * from an empty cache (a CRD not installed yet, RBAC missing) would act on a world that is not there.
 */
import { setTimeout as sleep } from "node:timers/promises";
import {
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  ListWatch,
  Watch,
} from "@kubernetes/client-node";
import { toVolpopError } from "./errors.ts";
import type { Logger } from "./logger.ts";

/** Options for {@link watchCollection}. */
export interface WatchCollectionOptions<T extends KubernetesObject> {
  /** Kind, for logs and readiness, e.g. `PersistentVolumeClaim`. */
  readonly kind: string;
  readonly kubeConfig: KubeConfig;
  /** API path of the collection, e.g. `/api/v1/persistentvolumeclaims`. */
  readonly path: string;
  /**
   * Lists the collection (the same one `path` watches), one page at a time when it passes `page` on
   * (`limit` and `_continue` of the list call): a list that ignores it is read whole.
   */
  readonly list: (page: ListPage) => Promise<KubernetesListObject<T>>;
  /** Objects per list page, as client-go's reflector. Default 500. */
  readonly pageSize?: number;
  /** Only objects with these labels (must match what `list` asks for). */
  readonly labelSelector?: string;
  /** Only objects matching these fields, e.g. `type=Warning` (must match what `list` asks for). */
  readonly fieldSelector?: string;
  /**
   * Which objects to cache and report, when the API server cannot select them: the rest are
   * dropped as they arrive, so a controller does not hold every PVC of the cluster in memory to use
   * a few. Must depend on the object alone; an object that stops matching is reported deleted.
   */
  readonly keep?: (object: T) => boolean;
  /** Called on every add and update with the new object, and on delete with the object as last seen. */
  readonly onChange: (object: T, change: "add" | "update" | "delete") => void;
  readonly logger: Logger;
  /** First delay before restarting a failed watch; doubles up to 30 s. Default 1 s. */
  readonly restartDelayMs?: number;
}

/** Which page of a list to read: the `limit` and `_continue` parameters of the API's list calls. */
export interface ListPage {
  readonly limit: number;
  readonly _continue?: string;
}

/** A running watch and its cache. */
export interface CollectionWatch<T extends KubernetesObject> {
  readonly kind: string;
  /** The cached object, if any. */
  get(name: string, namespace?: string): T | undefined;
  /** Every cached object (of one namespace, if given). */
  list(namespace?: string): readonly T[];
  /** True once a list succeeded and while no failure is outstanding. */
  readonly healthy: boolean;
  /** Why the watch last failed, for readiness. */
  readonly lastError: string | undefined;
  /**
   * Starts the informer and resolves once the first list has succeeded, retrying failures with
   * backoff; resolves early (cache incomplete) if `signal` aborts.
   */
  start(signal: AbortSignal): Promise<void>;
  stop(): Promise<void>;
}

const RESTART_MAX_MS = 30_000;

/** Watches one collection; see {@link CollectionWatch}. */
export function watchCollection<T extends KubernetesObject>(
  options: WatchCollectionOptions<T>,
): CollectionWatch<T> {
  const logger = options.logger.child({ watch: options.kind });
  const baseDelay = options.restartDelayMs ?? 1000;
  let listed = false;
  let failures = 0;
  let failing = false;
  let lastError: string | undefined;
  let stopped = false;
  let restarting: Promise<void> | undefined;
  const stopping = new AbortController();
  const firstList = Promise.withResolvers<void>();

  const keep = options.keep;
  // Keys of kept objects, so that one that stops matching can be reported deleted.
  const kept = new Set<string>();
  const watch = new Watch(options.kubeConfig);
  const informer = new ListWatch<T>(
    options.path,
    keep ? filteringWatch(watch, keep, kept) : watch,
    async () => {
      const list = await listPaged(options.list, options.pageSize ?? DEFAULT_PAGE_SIZE, keep);
      if (keep) {
        kept.clear();
        for (const item of list.items) kept.add(objectKey(item));
      }
      listed = true;
      firstList.resolve();
      return list;
    },
    false,
    options.labelSelector,
    options.fieldSelector,
  );
  informer.on("add", (object) => options.onChange(object, "add"));
  informer.on("update", (object) => options.onChange(object, "update"));
  informer.on("delete", (object) => options.onChange(object, "delete"));
  informer.on("error", (error: unknown) => fail(error));

  function fail(error: unknown): void {
    if (stopped) return;
    failures++;
    failing = true;
    lastError = toVolpopError(error).message;
    // Failures while restarting only make the running restart loop try again.
    if (restarting === undefined) restarting = restart();
  }

  // client-node stops for good after an error: start it again until a start gets through cleanly.
  async function restart(): Promise<void> {
    try {
      for (let delay = baseDelay; !stopped; delay = Math.min(RESTART_MAX_MS, delay * 2)) {
        logger.warn({ error: lastError, retryInMs: delay }, "watch failed; restarting");
        await sleep(delay, undefined, { signal: stopping.signal }).catch(() => undefined);
        if (stopped) return;
        const before = failures;
        await informer.start().catch((error: unknown) => {
          failures++;
          lastError = toVolpopError(error).message;
        });
        if (failures === before) {
          failing = false;
          logger.info("watch restarted");
          return;
        }
      }
    } finally {
      // Cleared in the same step as the last check, so that no later failure finds a finished loop.
      restarting = undefined;
    }
  }

  return {
    kind: options.kind,
    get: (name, namespace) => informer.get(name, namespace),
    list: (namespace) => informer.list(namespace),
    get healthy() {
      return listed && !failing;
    },
    get lastError() {
      return lastError;
    },
    async start(signal) {
      await informer.start().catch(fail);
      const aborted = Promise.withResolvers<void>();
      const onAbort = () => aborted.resolve();
      signal.addEventListener("abort", onAbort, { once: true });
      if (signal.aborted) onAbort();
      try {
        await Promise.race([firstList.promise, aborted.promise]);
      } finally {
        signal.removeEventListener("abort", onAbort);
      }
    },
    async stop() {
      stopped = true;
      stopping.abort();
      await informer.stop();
      await restarting;
    },
  };
}

const DEFAULT_PAGE_SIZE = 500;

/**
 * Reads a collection page by page, keeping only what `keep` accepts as each page arrives: the peak
 * memory of a list is one page, not the cluster's every object (10,000 PVCs parsed at once cost a
 * controller ~60 MiB that it then throws away). A continue token that expired (410) makes it read
 * the collection whole, as client-go's pager does.
 */
async function listPaged<T extends KubernetesObject>(
  list: (page: ListPage) => Promise<KubernetesListObject<T>>,
  limit: number,
  keep: ((object: T) => boolean) | undefined,
): Promise<KubernetesListObject<T>> {
  const items: T[] = [];
  let page = await list({ limit });
  for (;;) {
    for (const item of page.items) if (!keep || keep(item)) items.push(item);
    // Typed lists name it `_continue`; custom objects come back as plain JSON, with `continue`.
    const next = page.metadata?._continue ?? (page.metadata as { continue?: string } | undefined)?.continue;
    if (!next) break;
    try {
      page = await list({ limit, _continue: next });
    } catch (error) {
      if ((error as { code?: number }).code !== 410) throw error;
      const whole = await list({ limit: 0 });
      return { ...whole, items: keep ? whole.items.filter(keep) : whole.items };
    }
  }
  const {
    _continue: _,
    continue: __,
    ...metadata
  } = (page.metadata ?? {}) as { _continue?: string; continue?: string };
  return { ...page, metadata, items };
}

function objectKey(object: KubernetesObject): string {
  return `${object.metadata?.namespace ?? ""}/${object.metadata?.name ?? ""}`;
}

/**
 * A watch that passes on only the objects `keep` accepts. Dropped events still carry their
 * resourceVersion to the informer (as bookmarks), so a reconnect resumes after them instead of
 * replaying them or, once that version has expired, listing everything again.
 */
function filteringWatch<T extends KubernetesObject>(
  inner: Watch,
  keep: (object: T) => boolean,
  kept: Set<string>,
): Watch {
  const filtering: Pick<Watch, "watch"> = {
    watch: (path, queryParams, callback, done) =>
      inner.watch(
        path,
        queryParams,
        (phase, object: T, watchObject) => {
          if (phase !== "ADDED" && phase !== "MODIFIED" && phase !== "DELETED") {
            callback(phase, object, watchObject);
            return;
          }
          const key = objectKey(object);
          if (keep(object)) {
            if (phase === "DELETED") kept.delete(key);
            else kept.add(key);
            callback(phase, object, watchObject);
          } else if (kept.delete(key)) {
            callback("DELETED", object, watchObject);
          } else {
            callback(
              "BOOKMARK",
              { metadata: { resourceVersion: object.metadata?.resourceVersion } },
              watchObject,
            );
          }
        },
        done,
      ),
  };
  return filtering as Watch;
}
