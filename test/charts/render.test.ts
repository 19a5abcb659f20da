import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { helmBinary } from "../support/helm.ts";
import { renderChart } from "./manifests.ts";
import { chartNames } from "./values-schema.ts";

const NAMESPACES: Record<string, string> = {
  "volpop-validator": "volpop-system",
  "volpop-populator-hello": "hello",
  "volpop-populator-image": "volpop-image",
  "volpop-populator-csi-fastpath": "volpop-fastpath",
};

const snapshot = (chart: string, variant: string) =>
  path.join(import.meta.dirname, "__snapshots__", `${chart}.${variant}.yaml`);

// What `helm template` renders, kept in files beside the test: a change to a chart shows in review as
// the change to what it installs. `vitest run -u` rewrites them after an intended change.
describe("helm template", () => {
  beforeAll(async () => {
    await helmBinary();
  }, 1_200_000);

  it.each(chartNames)("renders %s with its default values as before", async (chart) => {
    const rendered = await renderChart(chart, { namespace: NAMESPACES[chart] ?? "default" });
    await expect(rendered).toMatchFileSnapshot(snapshot(chart, "default"));
  });

  it.each(chartNames)("renders %s with every option changed as before", async (chart) => {
    const rendered = await renderChart(chart, {
      namespace: "custom-ns",
      release: "custom",
      valuesFile: `${chart}.yaml`,
      apiVersions: ["monitoring.coreos.com/v1/ServiceMonitor"],
    });
    await expect(rendered).toMatchFileSnapshot(snapshot(chart, "custom"));
  });
});
