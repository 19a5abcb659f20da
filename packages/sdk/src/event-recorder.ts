import type { CoreV1Api, V1ObjectReference } from "@kubernetes/client-node";
import type { Clock } from "./clock.ts";
import type { Logger } from "./logger.ts";

/**
 * Records core/v1 Events on objects. A level-based reconcile re-derives the same warning every time it
 * runs; the same (object, reason, message) is therefore recorded at most once per `dedupeMs`, so that
 * `kubectl describe` stays readable.
 */
export class EventRecorder {
  readonly #core: CoreV1Api;
  readonly #component: string;
  readonly #instance: string;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #dedupeMs: number;
  readonly #recent = new Map<string, number>();

  constructor(options: {
    core: CoreV1Api;
    component: string;
    instance: string;
    clock: Clock;
    logger: Logger;
    dedupeMs?: number;
  }) {
    this.#core = options.core;
    this.#component = options.component;
    this.#instance = options.instance;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#dedupeMs = options.dedupeMs ?? 10 * 60_000;
  }

  async record(
    object: V1ObjectReference,
    type: "Normal" | "Warning",
    reason: string,
    message: string,
  ): Promise<void> {
    const now = this.#clock.now();
    const key = `${object.uid}\u0000${reason}\u0000${message}`;
    const last = this.#recent.get(key);
    if (last !== undefined && now - last < this.#dedupeMs) return;
    this.#recent.set(key, now);
    if (this.#recent.size > 10_000) this.#forgetOld(now);
    const time = new Date(now);
    try {
      await this.#core.createNamespacedEvent({
        namespace: object.namespace ?? "default",
        body: {
          metadata: { generateName: `${object.name}.`, namespace: object.namespace ?? "default" },
          involvedObject: object,
          type,
          reason,
          message: message.length > 1024 ? `${message.slice(0, 1021)}...` : message,
          source: { component: this.#component },
          reportingComponent: this.#component,
          reportingInstance: this.#instance,
          firstTimestamp: time,
          lastTimestamp: time,
          count: 1,
        },
      });
    } catch (error) {
      // Events are best effort: a failure to report must not fail the population itself.
      this.#recent.delete(key);
      this.#logger.warn({ err: error, reason }, "could not record event");
    }
  }

  #forgetOld(now: number): void {
    for (const [key, at] of this.#recent) if (now - at >= this.#dedupeMs) this.#recent.delete(key);
  }
}
