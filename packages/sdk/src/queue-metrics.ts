import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { registeredOnce } from "./metrics.ts";

/**
 * What a {@link WorkQueue} reports as it works, in client-go's workqueue terms. The queue itself
 * knows nothing of Prometheus; {@link workQueueMetrics} gives it client-go's metrics.
 */
export interface WorkQueueMetrics {
  /** A key was queued (not counting adds of a key already queued). */
  added(depth: number): void;
  /** A worker took a key that had waited `waitedMs` in the queue. */
  handedOut(depth: number, waitedMs: number): void;
  /** A worker finished a key it had for `workedMs`. */
  finished(workedMs: number): void;
  /** A key was queued again after a failure. */
  retried(): void;
  /** Lets the metrics read how long each key in the workers' hands has been there, when scraped. */
  track(processingMs: () => Iterable<number>): void;
}

// client-go's buckets for both durations: 10 ns … 10 s, by tens.
const DURATION_BUCKETS = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.1, 1, 10];

/**
 * client-go's workqueue metrics (`workqueue_depth`, `workqueue_adds_total`,
 * `workqueue_queue_duration_seconds`, `workqueue_work_duration_seconds`,
 * `workqueue_unfinished_work_seconds`, `workqueue_longest_running_processor_seconds`,
 * `workqueue_retries_total`), with their names and help, labelled by queue `name`: the dashboards
 * and alerts written for Go controllers work unchanged. Several queues may share a registry.
 */
export function workQueueMetrics(registry: Registry, name: string): WorkQueueMetrics {
  const labels = { name };
  const depth = registeredOnce(
    registry,
    "workqueue_depth",
    () => new Gauge({ ...base("workqueue_depth", "Current depth of workqueue", registry) }),
  );
  const adds = registeredOnce(
    registry,
    "workqueue_adds_total",
    () =>
      new Counter({ ...base("workqueue_adds_total", "Total number of adds handled by workqueue", registry) }),
  );
  const queueDuration = registeredOnce(
    registry,
    "workqueue_queue_duration_seconds",
    () =>
      new Histogram({
        ...base(
          "workqueue_queue_duration_seconds",
          "How long in seconds an item stays in workqueue before being requested.",
          registry,
        ),
        buckets: DURATION_BUCKETS,
      }),
  );
  const workDuration = registeredOnce(
    registry,
    "workqueue_work_duration_seconds",
    () =>
      new Histogram({
        ...base(
          "workqueue_work_duration_seconds",
          "How long in seconds processing an item from workqueue takes.",
          registry,
        ),
        buckets: DURATION_BUCKETS,
      }),
  );
  const retries = registeredOnce(
    registry,
    "workqueue_retries_total",
    () =>
      new Counter({
        ...base("workqueue_retries_total", "Total number of retries handled by workqueue", registry),
      }),
  );
  const sources = tracked(registry);
  const unfinished = registeredOnce(
    registry,
    "workqueue_unfinished_work_seconds",
    () =>
      new Gauge({
        ...base(
          "workqueue_unfinished_work_seconds",
          "How many seconds of work has been done that is in progress and hasn't been observed by work_duration. Large values indicate stuck threads. One can deduce the number of stuck threads by observing the rate at which this increases.",
          registry,
        ),
        collect() {
          for (const [queue, ages] of sources) this.set({ name: queue }, sum(ages()) / 1000);
        },
      }),
  );
  const longest = registeredOnce(
    registry,
    "workqueue_longest_running_processor_seconds",
    () =>
      new Gauge({
        ...base(
          "workqueue_longest_running_processor_seconds",
          "How many seconds has the longest running processor for workqueue been running.",
          registry,
        ),
        collect() {
          for (const [queue, ages] of sources) this.set({ name: queue }, Math.max(0, ...ages()) / 1000);
        },
      }),
  );
  depth.set(labels, 0);
  adds.inc(labels, 0);
  retries.inc(labels, 0);
  unfinished.set(labels, 0);
  longest.set(labels, 0);
  return {
    added(current) {
      adds.inc(labels);
      depth.set(labels, current);
    },
    handedOut(current, waitedMs) {
      depth.set(labels, current);
      queueDuration.observe(labels, waitedMs / 1000);
    },
    finished(workedMs) {
      workDuration.observe(labels, workedMs / 1000);
    },
    retried() {
      retries.inc(labels);
    },
    track(processingMs) {
      sources.set(name, processingMs);
    },
  };
}

// Per registry, the queues whose keys in progress the two gauges read when scraped.
const trackedByRegistry = new WeakMap<Registry, Map<string, () => Iterable<number>>>();

function tracked(registry: Registry): Map<string, () => Iterable<number>> {
  let sources = trackedByRegistry.get(registry);
  if (!sources) {
    sources = new Map();
    trackedByRegistry.set(registry, sources);
  }
  return sources;
}

function base(name: string, help: string, registry: Registry) {
  return { name, help, labelNames: ["name"] as const, registers: [registry] };
}

function sum(values: Iterable<number>): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}
