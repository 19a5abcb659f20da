import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { chartsDir, helm, helmBinary } from "../support/helm.ts";
import { valuesFile } from "./manifests.ts";
import { chartNames } from "./values-schema.ts";

// `helm lint --strict`: Helm's checks of the chart (Chart.yaml, templates that render to valid
// Kubernetes YAML, values against values.schema.json), every warning an error. With the defaults and
// with the test's values that turn every option on.
describe("helm lint --strict", () => {
  beforeAll(async () => {
    await helmBinary();
  }, 1_200_000);

  it.each(chartNames)("passes %s with its default values", async (chart) => {
    const out = await helm(["lint", "--strict", path.join(chartsDir, chart)]);
    expect(out).toContain("1 chart(s) linted, 0 chart(s) failed");
  });

  it.each(chartNames)("passes %s with every option changed", async (chart) => {
    // helm lint cannot be told the cluster serves ServiceMonitors; the snapshots render them.
    const out = await helm([
      "lint",
      "--strict",
      "--set",
      "metrics.serviceMonitor.enabled=false",
      "--values",
      valuesFile(`${chart}.yaml`),
      path.join(chartsDir, chart),
    ]);
    expect(out).toContain("1 chart(s) linted, 0 chart(s) failed");
  });

  it("passes the library chart the others share", async () => {
    const out = await helm(["lint", "--strict", path.join(chartsDir, "volpop-common")]);
    expect(out).toContain("1 chart(s) linted, 0 chart(s) failed");
  });
});
