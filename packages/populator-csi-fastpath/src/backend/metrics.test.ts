import { OperationState } from "@volpop/sdk/fastpath";
import { describe, expect, it } from "vitest";
import { operationsMetrics } from "./metrics.ts";

describe("operationsMetrics", () => {
  it("reports the operations the backend remembers by state, read at each scrape", async () => {
    let counts = new Map<OperationState, number>([
      [OperationState.OPERATION_STATE_RUNNING, 2],
      [OperationState.OPERATION_STATE_SUCCEEDED, 1],
    ]);
    const registry = operationsMetrics(() => counts);
    const first = await registry.metrics();
    expect(first).toContain("# TYPE volpop_fastpath_backend_operations gauge");
    expect(first).toContain('volpop_fastpath_backend_operations{state="running"} 2');
    expect(first).toContain('volpop_fastpath_backend_operations{state="succeeded"} 1');

    counts = new Map([[OperationState.OPERATION_STATE_FAILED, 3]]);
    const second = await registry.metrics();
    expect(second).toContain('volpop_fastpath_backend_operations{state="failed"} 3');
    // A state the store no longer holds is gone, not left at its old value.
    expect(second).not.toContain('state="running"');
  });
});
