import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createValidatorMetrics, OPERATION_COUNT_NAME, OPERATION_RESULTS } from "./metrics.ts";

async function counts(registry: Registry): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric(OPERATION_COUNT_NAME)?.get();
  return Object.fromEntries((metric?.values ?? []).map((v) => [String(v.labels.result), v.value]));
}

describe("createValidatorMetrics", () => {
  it("exports every upstream result at 0 before the first validation", async () => {
    const metrics = createValidatorMetrics();
    expect(await counts(metrics.registry)).toEqual({
      empty: 0,
      pvc: 0,
      snapshot: 0,
      populator: 0,
      invalid: 0,
      error: 0,
    });
    expect(OPERATION_RESULTS).toEqual(["empty", "pvc", "snapshot", "populator", "invalid", "error"]);
  });

  it("counts validations by result under upstream's metric name", async () => {
    const registry = new Registry();
    const metrics = createValidatorMetrics(registry);
    metrics.count("invalid");
    metrics.count("invalid");
    metrics.count("pvc");
    expect(await counts(registry)).toMatchObject({ invalid: 2, pvc: 1, empty: 0 });
    expect(await registry.metrics()).toContain(
      'volume_data_source_validator_operation_count{result="invalid"} 2',
    );
  });

  it("keeps two validators in one process apart", () => {
    createValidatorMetrics();
    expect(() => createValidatorMetrics()).not.toThrow();
  });
});
