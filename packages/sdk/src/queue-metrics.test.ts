import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { FakeClock } from "./internal/fake-clock.ts";
import { WorkQueue } from "./queue.ts";
import { workQueueMetrics } from "./queue-metrics.ts";

/** One sample of `metric{name="…"}` from the registry's text exposition, or undefined. */
async function sample(registry: Registry, metric: string, queue = "pvcs"): Promise<number | undefined> {
  const text = await registry.metrics();
  const line = text.split("\n").find((l) => l.startsWith(`${metric}{name="${queue}"}`));
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
}

function instrumented(queue = "pvcs", registry = new Registry()) {
  const clock = new FakeClock(0);
  return { registry, clock, work: new WorkQueue({ clock, metrics: workQueueMetrics(registry, queue) }) };
}

describe("workQueueMetrics", () => {
  it("starts every series at zero, so that rate() sees the first change", async () => {
    const { registry } = instrumented();
    for (const metric of [
      "workqueue_depth",
      "workqueue_adds_total",
      "workqueue_retries_total",
      "workqueue_unfinished_work_seconds",
      "workqueue_longest_running_processor_seconds",
    ]) {
      expect(await sample(registry, metric)).toBe(0);
    }
  });

  it("counts adds once per queued key and shows the depth", async () => {
    const { registry, work } = instrumented();
    work.add("a");
    work.add("a");
    work.add("b");
    expect(await sample(registry, "workqueue_adds_total")).toBe(2);
    expect(await sample(registry, "workqueue_depth")).toBe(2);
    await work.get();
    expect(await sample(registry, "workqueue_depth")).toBe(1);
  });

  it("times the wait in the queue and the work, in seconds", async () => {
    const { registry, clock, work } = instrumented();
    work.add("a");
    clock.advance(2000);
    const key = await work.get();
    clock.advance(500);
    work.done(key ?? "");
    expect(await sample(registry, "workqueue_queue_duration_seconds_sum")).toBe(2);
    expect(await sample(registry, "workqueue_work_duration_seconds_sum")).toBe(0.5);
    expect(await sample(registry, "workqueue_work_duration_seconds_count")).toBe(1);
  });

  it("shows work in progress, the stuck-worker signal, until it is done", async () => {
    const { registry, clock, work } = instrumented();
    work.add("a");
    work.add("b");
    await work.get();
    clock.advance(1000);
    await work.get();
    clock.advance(3000);
    expect(await sample(registry, "workqueue_unfinished_work_seconds")).toBe(7);
    expect(await sample(registry, "workqueue_longest_running_processor_seconds")).toBe(4);
    work.done("a");
    work.done("b");
    expect(await sample(registry, "workqueue_unfinished_work_seconds")).toBe(0);
  });

  it("counts retries", async () => {
    const { registry, work } = instrumented();
    work.addRateLimited("a");
    work.addRateLimited("a");
    expect(await sample(registry, "workqueue_retries_total")).toBe(2);
  });

  it("keeps two queues on one registry apart by name", async () => {
    const registry = new Registry();
    const first = instrumented("hello.example.com", registry).work;
    instrumented("image.volpop.dev", registry);
    first.add("a");
    expect(await sample(registry, "workqueue_adds_total", "hello.example.com")).toBe(1);
    expect(await sample(registry, "workqueue_adds_total", "image.volpop.dev")).toBe(0);
  });
});
