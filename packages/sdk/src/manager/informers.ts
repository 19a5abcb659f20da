/**
 * Shared informers: one watch per collection per process, however many controllers read it. Two
 * populators and the validator in one Manager all read PVCs; each asking for its own watch would
 * cost the API server a watch and the process a cache each (the whole point of client-go's
 * `SharedInformerFactory`).
 *
 * A controller asks for a collection with the objects it wants (`keep`); the shared watch keeps
 * the union of what its readers want, and each reader sees only its own part, in its events and in
 * `get`/`list`, as if it had the watch to itself.
 */
import type { KubeConfig, KubernetesListObject, KubernetesObject } from "@kubernetes/client-node";
import { type CollectionWatch, type ListPage, watchCollection } from "../informers.ts";
import type { Logger } from "../logger.ts";

/** What changed, as the informer reports it. */
export type Change = "add" | "update" | "delete";

/** One reader's view of a shared collection cache. */
export interface Informer<T extends KubernetesObject> {
  /** Kind, for logs and readiness, e.g. `PersistentVolumeClaim`. */
  readonly kind: string;
  /** The cached object, if it is one this reader keeps. */
  get(name: string, namespace?: string): T | undefined;
  /** Every cached object this reader keeps (of one namespace, if given). */
  list(namespace?: string): readonly T[];
  /** True once a list succeeded and while no failure is outstanding. */
  readonly healthy: boolean;
  /** Why the watch last failed, for readiness. */
  readonly lastError: string | undefined;
  /** True once the cache has listed once (complete); a later failure does not empty it. */
  readonly hasSynced: boolean;
  /** Resolves once the cache has listed once (complete), or early when `signal` aborts. */
  synced(signal: AbortSignal): Promise<void>;
  /** Calls `handler` on every add, update and delete of an object this reader keeps. */
  onChange(handler: (object: T, change: Change) => void): void;
}

/** A collection to watch; two requests with the same `path` and selectors share one watch. */
export interface InformerRequest<T extends KubernetesObject> {
  readonly kind: string;
  /** API path of the collection, e.g. `/api/v1/persistentvolumeclaims`. */
  readonly path: string;
  /** Lists the collection `path` watches, a page at a time; see `watchCollection`. */
  readonly list: (page: ListPage) => Promise<KubernetesListObject<T>>;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /**
   * The objects this reader wants, when the API server cannot select them (see `watchCollection`).
   * Must depend on fields an object cannot change (its name, namespace, `dataSourceRef`…): a
   * reader whose objects come and go under an unchanged shared watch would miss the change.
   * Default: every object.
   */
  readonly keep?: (object: T) => boolean;
}

/** The informers of one process; see the module comment. */
export class SharedInformers {
  readonly #kubeConfig: KubeConfig;
  readonly #logger: Logger;
  readonly #shared = new Map<string, SharedCollection<KubernetesObject>>();
  #started = false;

  constructor(options: { kubeConfig: KubeConfig; logger: Logger }) {
    this.#kubeConfig = options.kubeConfig;
    this.#logger = options.logger;
  }

  /**
   * A view of the collection, sharing the watch with every other request for the same collection.
   * Ask before {@link SharedInformers.start}: what the watch keeps is fixed when it lists.
   */
  informer<T extends KubernetesObject>(request: InformerRequest<T>): Informer<T> {
    if (this.#started) {
      throw new Error(
        `informer for ${request.kind} requested after the informers started: controllers must be added before the manager runs`,
      );
    }
    const id = [request.path, request.labelSelector ?? "", request.fieldSelector ?? ""].join("\n");
    let shared = this.#shared.get(id) as SharedCollection<T> | undefined;
    if (shared !== undefined && shared.kind !== request.kind) {
      throw new Error(`${request.path} is watched as ${shared.kind} already, not ${request.kind}`);
    }
    if (shared === undefined) {
      shared = new SharedCollection<T>(request);
      this.#shared.set(id, shared as unknown as SharedCollection<KubernetesObject>);
    }
    return shared.reader(request.keep);
  }

  /** How many distinct watches the requests so far need. */
  get watchCount(): number {
    return this.#shared.size;
  }

  /** Starts every watch; each lists and retries on its own (see {@link Informer.synced}). */
  start(signal: AbortSignal): void {
    if (this.#started) return;
    this.#started = true;
    for (const shared of this.#shared.values()) shared.start(this.#kubeConfig, this.#logger, signal);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#shared.values()].map((shared) => shared.stop()));
  }
}

interface Reader<T> {
  readonly keep: ((object: T) => boolean) | undefined;
  readonly handlers: ((object: T, change: Change) => void)[];
  /**
   * Keys of the objects a filtering reader was told about, so that one it stops keeping is reported
   * deleted to it (and only to it). A reader that keeps everything needs none.
   */
  readonly seen: Set<string>;
}

class SharedCollection<T extends KubernetesObject> {
  readonly #request: InformerRequest<T>;
  readonly #readers: Reader<T>[] = [];
  #watch: CollectionWatch<T> | undefined;
  readonly #firstList = Promise.withResolvers<void>();
  #synced = false;

  constructor(request: InformerRequest<T>) {
    this.#request = request;
  }

  get kind(): string {
    return this.#request.kind;
  }

  reader(keep: ((object: T) => boolean) | undefined): Informer<T> {
    const reader: Reader<T> = { keep, handlers: [], seen: new Set() };
    this.#readers.push(reader);
    const kept = (object: T | undefined) =>
      object !== undefined && (!keep || keep(object)) ? object : undefined;
    const collection = this;
    return {
      kind: this.#request.kind,
      get: (name, namespace) => kept(this.#watch?.get(name, namespace)),
      list: (namespace) => {
        const all = this.#watch?.list(namespace) ?? [];
        return keep ? all.filter(keep) : all;
      },
      get healthy() {
        return collection.#watch?.healthy ?? false;
      },
      get lastError() {
        return collection.#watch?.lastError;
      },
      get hasSynced() {
        return collection.#synced;
      },
      synced: (signal) => untilAborted(this.#firstList.promise, signal),
      onChange: (handler) => {
        reader.handlers.push(handler);
      },
    };
  }

  start(kubeConfig: KubeConfig, logger: Logger, signal: AbortSignal): void {
    const readers = this.#readers;
    // The union of what the readers keep; one reader wanting everything makes the watch keep everything.
    const keeps = readers.map((r) => r.keep);
    const keep = keeps.every((k) => k !== undefined)
      ? (object: T) => keeps.some((k) => k?.(object))
      : undefined;
    const request = this.#request;
    this.#watch = watchCollection<T>({
      kind: request.kind,
      kubeConfig,
      path: request.path,
      list: request.list,
      ...(request.labelSelector ? { labelSelector: request.labelSelector } : {}),
      ...(request.fieldSelector ? { fieldSelector: request.fieldSelector } : {}),
      ...(keep ? { keep } : {}),
      logger,
      onChange: (object, change) => {
        for (const reader of readers) {
          // One reader's failing handler must not keep the others from hearing of the change.
          try {
            dispatch(reader, object, change);
          } catch (error) {
            logger.error({ kind: request.kind, err: error }, "a watch handler failed");
          }
        }
      },
    });
    void this.#watch.start(signal).then(() => {
      if (signal.aborted) return;
      this.#synced = true;
      this.#firstList.resolve();
    });
  }

  async stop(): Promise<void> {
    await this.#watch?.stop();
  }
}

function dispatch<T extends KubernetesObject>(reader: Reader<T>, object: T, change: Change): void {
  if (!reader.keep) {
    for (const handler of reader.handlers) handler(object, change);
    return;
  }
  const key = `${object.metadata?.namespace ?? ""}/${object.metadata?.name ?? ""}`;
  let reported: Change | undefined = change;
  if (change !== "delete" && reader.keep(object)) {
    reader.seen.add(key);
  } else {
    // Not (or no longer) this reader's: only an object it was told about leaves its view.
    reported = reader.seen.delete(key) ? "delete" : undefined;
  }
  if (reported === undefined) return;
  for (const handler of reader.handlers) handler(object, reported);
}

function untilAborted(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const onAbort = () => resolve();
    signal.addEventListener("abort", onAbort, { once: true });
    void promise.then(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    });
  });
}
