/**
 * The metrics reference: each binary's metrics as its code registers them. The factories run on a
 * fresh registry and the registry is read back (name, type, labels, help, buckets), so the page
 * lists exactly what a scrape would, without a cluster.
 */
import { Registry } from "prom-client";
import { operationsMetrics } from "../../../packages/populator-csi-fastpath/src/backend/metrics.ts";
import { createPopulatorMetrics } from "../../../packages/sdk/src/metrics.ts";
import { workQueueMetrics } from "../../../packages/sdk/src/queue-metrics.ts";
import { fastPathMetrics } from "../../../packages/sdk/src/strategies/csi-fastpath/vocabulary.ts";
import { createValidatorMetrics } from "../../../packages/validator/src/metrics.ts";
import { admissionReviewCounter } from "../../../packages/validator/src/webhook/webhook.ts";
import { code, generatedBanner, table } from "./markdown.ts";

/** One metric as a scrape describes it. */
export interface MetricDoc {
  readonly name: string;
  readonly type: string;
  readonly labels: readonly string[];
  readonly help: string;
  /** A histogram's bucket upper bounds, in its unit. */
  readonly buckets?: readonly number[];
}

/** A set of metrics one binary (or one optional part of it) registers. */
export interface MetricSet {
  readonly title: string;
  readonly about: string;
  /** Registers the set's metrics on a fresh registry and returns that registry. */
  readonly register: () => Registry;
}

// What prom-client's metric objects carry besides their public methods.
interface MetricInternals {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly labelNames: readonly string[];
  readonly upperBounds?: readonly number[];
}

export const METRIC_SETS: readonly MetricSet[] = [
  {
    title: "Every populator",
    about:
      "Registered by every populator controller built on `@volpop/sdk`, labelled with `populator` (its prefix, e.g. `hello.example.com`) so that several populators can share one Manager and one endpoint. `volume_populator_*` are upstream lib-volume-populator's names and buckets; `workqueue_*` are client-go's, with the queue's `name` the populator's prefix.",
    register: () => {
      const { registry } = createPopulatorMetrics(new Registry(), {
        processMetrics: false,
        populator: "example.com",
      });
      workQueueMetrics(registry, "example.com");
      return registry;
    },
  },
  {
    title: "The CSI fast path",
    about:
      "Added by populators that turn the fast path on (`csiFastPathStrategy` of `@volpop/sdk/fastpath`).",
    register: () => {
      const registry = new Registry();
      fastPathMetrics(registry);
      return registry;
    },
  },
  {
    title: "The data-source validator",
    about:
      "`volume-data-source-validator`: upstream's operation counter, client-go's work-queue metrics (queue `volume-data-source-validator`) and, with `--webhook-port`, the admission webhook's counter.",
    register: () => {
      const { registry } = createValidatorMetrics(new Registry());
      workQueueMetrics(registry, "volume-data-source-validator");
      admissionReviewCounter(registry);
      return registry;
    },
  },
  {
    title: "The hostpath fast-path backend",
    about: "The backend DaemonSet of `@volpop/populator-csi-fastpath`, on its own `--http-endpoint`.",
    register: () => operationsMetrics(() => new Map()),
  },
];

/** The metrics on `registry`, sorted by name. */
export function describeMetrics(registry: Registry): MetricDoc[] {
  return (registry.getMetricsAsArray() as unknown as MetricInternals[])
    .map((m) => ({
      name: m.name,
      type: m.type,
      labels: [...m.labelNames],
      help: m.help,
      ...(m.type === "histogram" && m.upperBounds ? { buckets: [...m.upperBounds] } : {}),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function metricRow(metric: MetricDoc): string[] {
  return [
    code(metric.name),
    metric.type,
    metric.labels.map(code).join(", "),
    metric.buckets ? `${metric.help.replace(/\.$/, "")}. Buckets: ${metric.buckets.join(", ")}` : metric.help,
  ];
}

/** The metrics reference page. */
export function renderMetricsReference(sets: readonly MetricSet[] = METRIC_SETS): string {
  return [
    generatedBanner([
      "packages/sdk/src/metrics.ts",
      "packages/sdk/src/queue-metrics.ts",
      "packages/sdk/src/strategies/csi-fastpath/vocabulary.ts",
      "packages/validator/src/metrics.ts",
      "packages/validator/src/webhook/webhook.ts",
      "packages/populator-csi-fastpath/src/backend/metrics.ts",
    ]),
    "",
    "# Metrics reference",
    "",
    "What each binary serves in the Prometheus text format on its `--http-endpoint` (off unless set), at",
    "`--metrics-path` (default `/metrics`). Controllers also serve prom-client's default `process_*` and",
    "`nodejs_*` metrics.",
    "",
    ...sets.flatMap((set) => [
      `## ${set.title}`,
      "",
      set.about,
      "",
      table(["Metric", "Type", "Labels", "Help"], describeMetrics(set.register()).map(metricRow)),
      "",
    ]),
  ].join("\n");
}
