import fs from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { HelmError, helmBinary } from "../support/helm.ts";
import { renderChart } from "./manifests.ts";
import { type ChartName, chartNames, schemaPath, schemaText } from "./values-schema.ts";

describe("values.schema.json", () => {
  it.each(chartNames)("of %s is what test/charts/values-schema.ts writes", (chart) => {
    expect(fs.readFileSync(schemaPath(chart), "utf8"), "run: node test/charts/values-schema.ts").toBe(
      schemaText(chart),
    );
  });
});

type BadValues = readonly [title: string, chart: ChartName, values: Record<string, unknown>, says: string];

// Each is refused before anything renders, with the key's path (or, for what a schema cannot say, the
// chart's own sentence).
const badValues: readonly BadValues[] = [
  ["replicas: 0", "volpop-populator-hello", { replicas: 0 }, "at '/replicas': minimum: got 0, want 1"],
  ["replicas as a word", "volpop-validator", { replicas: "two" }, "at '/replicas': got string, want integer"],
  ["a misspelt key", "volpop-populator-image", { replica: 2 }, "additional properties 'replica' not allowed"],
  [
    "a misspelt nested key",
    "volpop-validator",
    { metrics: { serviceMonitor: { enable: true } } },
    "at '/metrics/serviceMonitor': additional properties 'enable' not allowed",
  ],
  [
    "an image digest that is not sha256:<hex>",
    "volpop-validator",
    { image: { digest: "latest" } },
    "at '/image/digest': 'latest' does not match pattern",
  ],
  [
    "an unknown pull policy",
    "volpop-populator-hello",
    { image: { pullPolicy: "Sometimes" } },
    "at '/image/pullPolicy': value must be one of 'Always', 'IfNotPresent', 'Never'",
  ],
  [
    "an empty image repository",
    "volpop-populator-hello",
    { image: { repository: "" } },
    "at '/image/repository'",
  ],
  [
    "an unknown log level",
    "volpop-populator-csi-fastpath",
    { logLevel: "loud" },
    "at '/logLevel': value must be one of",
  ],
  [
    "a lease duration without a unit",
    "volpop-validator",
    { leaderElection: { leaseDuration: "15" } },
    "at '/leaderElection/leaseDuration': '15' does not match pattern",
  ],
  [
    "an extra argument that is not a flag",
    "volpop-populator-hello",
    { extraArgs: ["oops"] },
    "at '/extraArgs/0'",
  ],
  [
    "a port out of range",
    "volpop-validator",
    { metrics: { port: 70000 } },
    "at '/metrics/port': maximum: got 70,000, want 65,535",
  ],
  ["workers: 0", "volpop-populator-hello", { workers: 0 }, "at '/workers': minimum: got 0, want 1"],
  [
    "a webhook port as a string",
    "volpop-validator",
    { webhook: { port: "9443" } },
    "at '/webhook/port': got string, want integer",
  ],
  [
    "a watch namespace that is no namespace name",
    "volpop-validator",
    { watchNamespace: "Team_A" },
    "at '/watchNamespace': 'Team_A' does not match pattern",
  ],
  [
    "a token realm without registry=",
    "volpop-populator-image",
    { population: { allowTokenRealm: ["auth.example.com"] } },
    "at '/population/allowTokenRealm/0'",
  ],
  [
    "an unknown fast-path fallback",
    "volpop-populator-csi-fastpath",
    { fastpath: { fallback: "maybe" } },
    "at '/fastpath/fallback': value must be one of 'pod', 'fail'",
  ],
  [
    "a relative golden directory",
    "volpop-populator-csi-fastpath",
    { goldenHostDir: "golden" },
    "at '/goldenHostDir': 'golden' does not match pattern '^/'",
  ],
  [
    "a ServiceMonitor where the cluster serves no ServiceMonitor CRD",
    "volpop-populator-image",
    { metrics: { serviceMonitor: { enabled: true } } },
    "metrics.serviceMonitor.enabled needs the Prometheus Operator's ServiceMonitor CRD (monitoring.coreos.com/v1)",
  ],
  [
    "a ServiceMonitor without the metrics Service",
    "volpop-populator-hello",
    { metrics: { service: { enabled: false }, serviceMonitor: { enabled: true } } },
    "metrics.serviceMonitor.enabled scrapes the metrics Service: set metrics.service.enabled=true too",
  ],
];

describe("bad values", () => {
  beforeAll(async () => {
    await helmBinary();
  }, 1_200_000);

  it.each(badValues)("refuses %s (%s)", async (_title, chart, values, says) => {
    const error = await renderChart(chart, { namespace: "any", values }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HelmError);
    expect((error as HelmError).helmStderr).toContain(says);
  });
});
