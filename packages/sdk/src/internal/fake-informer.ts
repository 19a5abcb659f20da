import type { KubernetesObject } from "@kubernetes/client-node";
import type { Change, Informer } from "../manager/informers.ts";

/**
 * An {@link Informer} for unit tests of controllers and key mappers: a cache the test fills by hand.
 * `set` and `remove` change it and tell the handlers, as a watch event would; it counts as synced
 * once `sync` is called (or from the start, with `synced: true`).
 */
export class FakeInformer<T extends KubernetesObject> implements Informer<T> {
  readonly kind: string;
  lastError: string | undefined;
  readonly #objects = new Map<string, T>();
  readonly #handlers: ((object: T, change: Change) => void)[] = [];
  readonly #synced = Promise.withResolvers<void>();
  #hasSynced = false;

  constructor(kind: string, options: { synced?: boolean } = {}) {
    this.kind = kind;
    if (options.synced) this.sync();
  }

  get hasSynced(): boolean {
    return this.#hasSynced;
  }

  get healthy(): boolean {
    return this.#hasSynced && this.lastError === undefined;
  }

  /** Marks the cache complete: controllers waiting for it start. */
  sync(): void {
    this.#hasSynced = true;
    this.#synced.resolve();
  }

  /** Adds or replaces `object`, reporting `add` or `update`. */
  set(object: T): void {
    const key = keyOf(object.metadata?.name ?? "", object.metadata?.namespace);
    const change = this.#objects.has(key) ? "update" : "add";
    this.#objects.set(key, object);
    for (const handler of this.#handlers) handler(object, change);
  }

  /** Removes `object`, reporting `delete`. */
  remove(object: T): void {
    this.#objects.delete(keyOf(object.metadata?.name ?? "", object.metadata?.namespace));
    for (const handler of this.#handlers) handler(object, "delete");
  }

  get(name: string, namespace?: string): T | undefined {
    return this.#objects.get(keyOf(name, namespace));
  }

  list(namespace?: string): readonly T[] {
    return [...this.#objects.values()].filter(
      (o) => namespace === undefined || o.metadata?.namespace === namespace,
    );
  }

  synced(signal: AbortSignal): Promise<void> {
    return Promise.race([
      this.#synced.promise,
      new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true })),
    ]);
  }

  onChange(handler: (object: T, change: Change) => void): void {
    this.#handlers.push(handler);
  }
}

function keyOf(name: string, namespace: string | undefined): string {
  return `${namespace ?? ""}/${name}`;
}
