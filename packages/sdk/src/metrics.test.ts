import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { FakeClock } from "./internal/fake-clock.ts";
import { createPopulatorMetrics, OPERATION_SECONDS_BUCKETS } from "./metrics.ts";

function setup() {
  const clock = new FakeClock(1_700_000_000_000);
  const registry = new Registry();
  const metrics = createPopulatorMetrics(registry, { clock, processMetrics: false });
  const text = () => registry.metrics();
  return { clock, registry, metrics, text };
}

describe("createPopulatorMetrics", () => {
  it("registers every metric with help text under upstream's and volpop's names", async () => {
    const { text } = setup();
    const output = await text();
    for (const [name, type] of [
      ["volume_populator_operation_seconds", "histogram"],
      ["volume_populator_operations_in_flight", "gauge"],
      ["volpop_reconcile_total", "counter"],
      ["volpop_reconcile_errors_total", "counter"],
      ["volpop_population_strategy_total", "counter"],
    ]) {
      expect(output).toMatch(new RegExp(`^# HELP ${name} \\S.*$`, "m"));
      expect(output).toContain(`# TYPE ${name} ${type}`);
    }
  });

  it("uses upstream's operation buckets, 0.1 s to 600 s", async () => {
    const { metrics, text } = setup();
    expect(OPERATION_SECONDS_BUCKETS).toEqual([0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 300, 600]);
    metrics.startOperation()("success");
    const les = [...(await text()).matchAll(/volume_populator_operation_seconds_bucket\{le="([^"]+)"/g)].map(
      (m) => m[1],
    );
    expect(les).toEqual([...OPERATION_SECONDS_BUCKETS.map(String), "+Inf"]);
  });

  it("times an operation with the injected clock and counts it in flight until it finishes", async () => {
    const { clock, metrics, text } = setup();
    const finish = metrics.startOperation();
    metrics.startOperation();
    expect(await text()).toContain("volume_populator_operations_in_flight 2");
    clock.advance(3_000);
    finish("success");
    const output = await text();
    expect(output).toContain("volume_populator_operations_in_flight 1");
    expect(output).toContain('volume_populator_operation_seconds_sum{result="success"} 3');
    expect(output).toContain('volume_populator_operation_seconds_count{result="success"} 1');
    expect(output).toContain('volume_populator_operation_seconds_bucket{le="2.5",result="success"} 0');
    expect(output).toContain('volume_populator_operation_seconds_bucket{le="5",result="success"} 1');
  });

  it("counts only the first finish of an operation", async () => {
    const { metrics, text } = setup();
    const finish = metrics.startOperation();
    finish("success");
    finish("error");
    const output = await text();
    expect(output).toContain("volume_populator_operations_in_flight 0");
    expect(output).toContain('volume_populator_operation_seconds_count{result="success"} 1');
    expect(output).not.toContain('volume_populator_operation_seconds_count{result="error"}');
  });

  it("times a keyed operation once from its first start, across repeated starts", async () => {
    const { clock, metrics, text } = setup();
    const first = metrics.startOperation("uid-1");
    clock.advance(1_000);
    const again = metrics.startOperation("uid-1");
    expect(again).toBe(first);
    expect(await text()).toContain("volume_populator_operations_in_flight 1");
    clock.advance(1_000);
    expect(metrics.finishOperation("uid-1", "success")).toBe(true);
    expect(metrics.finishOperation("uid-1", "success")).toBe(false);
    const output = await text();
    expect(output).toContain('volume_populator_operation_seconds_sum{result="success"} 2');
    expect(output).toContain("volume_populator_operations_in_flight 0");
  });

  it("drops a keyed operation without observing it, and can start the key afresh", async () => {
    const { clock, metrics, text } = setup();
    metrics.startOperation("uid-1");
    metrics.dropOperation("uid-1");
    metrics.dropOperation("uid-unknown");
    expect(await text()).toContain("volume_populator_operations_in_flight 0");
    metrics.startOperation("uid-1");
    clock.advance(500);
    metrics.finishOperation("uid-1", "success");
    const output = await text();
    expect(output).toContain('volume_populator_operation_seconds_count{result="success"} 1');
    expect(output).toContain('volume_populator_operation_seconds_sum{result="success"} 0.5');
  });

  it("never records a negative duration when the wall clock steps back", async () => {
    const clock = { now: () => 0, setTimeout: () => 0 as never, clearTimeout: () => {} };
    let now = 10_000;
    clock.now = () => now;
    const registry = new Registry();
    const metrics = createPopulatorMetrics(registry, { clock, processMetrics: false });
    const finish = metrics.startOperation();
    now = 5_000;
    finish("success");
    expect(await registry.metrics()).toContain('volume_populator_operation_seconds_sum{result="success"} 0');
  });

  it("shows every reconcile result from the start and counts errors by code", async () => {
    const { metrics, text } = setup();
    expect(await text()).toContain('volpop_reconcile_total{result="requeue"} 0');
    metrics.recordReconcile("success");
    metrics.recordReconcile("requeue");
    metrics.recordReconcile("requeue");
    metrics.recordReconcile("error", "API_409");
    metrics.recordReconcile("error");
    const output = await text();
    expect(output).toContain('volpop_reconcile_total{result="success"} 1');
    expect(output).toContain('volpop_reconcile_total{result="requeue"} 2');
    expect(output).toContain('volpop_reconcile_total{result="error"} 2');
    expect(output).toContain('volpop_reconcile_errors_total{code="API_409"} 1');
    expect(output).toContain('volpop_reconcile_errors_total{code="UNKNOWN"} 1');
  });

  it("counts populations by strategy and outcome", async () => {
    const { metrics, text } = setup();
    metrics.recordStrategy("pod", "success");
    metrics.recordStrategy("pod", "success");
    metrics.recordStrategy("csi-fastpath", "fallback");
    const output = await text();
    expect(output).toContain('volpop_population_strategy_total{strategy="pod",outcome="success"} 2');
    expect(output).toContain(
      'volpop_population_strategy_total{strategy="csi-fastpath",outcome="fallback"} 1',
    );
  });

  it("adds process metrics by default, and only when asked", async () => {
    const withProcess = createPopulatorMetrics();
    expect(await withProcess.registry.metrics()).toContain("process_start_time_seconds");
    const without = createPopulatorMetrics(new Registry(), { processMetrics: false });
    expect(await without.registry.metrics()).not.toContain("process_start_time_seconds");
  });

  it("uses a fresh registry per call, so two sets of metrics never collide", () => {
    const a = createPopulatorMetrics(undefined, { processMetrics: false });
    const b = createPopulatorMetrics(undefined, { processMetrics: false });
    expect(a.registry).not.toBe(b.registry);
  });

  it("refuses to register twice on one registry", () => {
    const registry = new Registry();
    createPopulatorMetrics(registry, { processMetrics: false });
    expect(() => createPopulatorMetrics(registry, { processMetrics: false })).toThrow(
      /already been registered/,
    );
  });

  it("lets several populators share one registry, each series labelled with its populator", async () => {
    const clock = new FakeClock(0);
    const registry = new Registry();
    const hello = createPopulatorMetrics(registry, {
      clock,
      processMetrics: false,
      populator: "hello.example.com",
    });
    const image = createPopulatorMetrics(registry, {
      clock,
      processMetrics: false,
      populator: "image.volpop.dev",
    });
    hello.startOperation("uid-1");
    image.startOperation("uid-2");
    image.startOperation("uid-3");
    clock.advance(2000);
    image.finishOperation("uid-2", "success");
    hello.recordReconcile("error", "API_409");
    image.recordStrategy("pod", "success");
    const output = await registry.metrics();
    expect(output).toContain('volume_populator_operations_in_flight{populator="hello.example.com"} 1');
    expect(output).toContain('volume_populator_operations_in_flight{populator="image.volpop.dev"} 1');
    expect(output).toContain(
      'volume_populator_operation_seconds_sum{result="success",populator="image.volpop.dev"} 2',
    );
    expect(output).not.toContain('volume_populator_operation_seconds_sum{result="success",populator="hello');
    expect(output).toContain('volpop_reconcile_total{result="error",populator="hello.example.com"} 1');
    expect(output).toContain('volpop_reconcile_errors_total{code="API_409",populator="hello.example.com"} 1');
    expect(output).toContain(
      'volpop_population_strategy_total{strategy="pod",outcome="success",populator="image.volpop.dev"} 1',
    );
    expect(output.match(/^# HELP volpop_reconcile_total /gm)).toHaveLength(1);
  });
});
