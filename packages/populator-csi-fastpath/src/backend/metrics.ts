import { OperationState } from "@volpop/sdk/fastpath";
import { Gauge, Registry } from "prom-client";

const STATE_LABELS: Readonly<Record<number, string>> = {
  [OperationState.OPERATION_STATE_PENDING]: "pending",
  [OperationState.OPERATION_STATE_RUNNING]: "running",
  [OperationState.OPERATION_STATE_SUCCEEDED]: "succeeded",
  [OperationState.OPERATION_STATE_FAILED]: "failed",
  [OperationState.OPERATION_STATE_CANCELLED]: "cancelled",
};

/**
 * The backend's metrics: `volpop_fastpath_backend_operations{state}`, the operations it remembers,
 * read from the operation store at each scrape (nothing to keep in step), on a registry of its own.
 */
export function operationsMetrics(counts: () => ReadonlyMap<OperationState, number>): Registry {
  const registry = new Registry();
  new Gauge({
    name: "volpop_fastpath_backend_operations",
    help: "Operations the backend remembers, by state.",
    labelNames: ["state"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [state, count] of counts()) {
        const label = STATE_LABELS[state];
        if (label) this.set({ state: label }, count);
      }
    },
  });
  return registry;
}
