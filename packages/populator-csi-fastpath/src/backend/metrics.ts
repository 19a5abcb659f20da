import { OperationState } from "@volpop/sdk";

const STATE_LABELS: Readonly<Record<number, string>> = {
  [OperationState.OPERATION_STATE_PENDING]: "pending",
  [OperationState.OPERATION_STATE_RUNNING]: "running",
  [OperationState.OPERATION_STATE_SUCCEEDED]: "succeeded",
  [OperationState.OPERATION_STATE_FAILED]: "failed",
  [OperationState.OPERATION_STATE_CANCELLED]: "cancelled",
};

/**
 * The backend's one metric in Prometheus text format. Written by hand: one gauge does not justify
 * prom-client, and the SDK's HTTP endpoint takes anything with `metrics()` and `contentType`.
 */
export function operationsMetrics(counts: () => ReadonlyMap<OperationState, number>) {
  return {
    contentType: "text/plain; version=0.0.4; charset=utf-8",
    async metrics(): Promise<string> {
      const lines = [
        "# HELP volpop_fastpath_backend_operations Operations the backend remembers, by state.",
        "# TYPE volpop_fastpath_backend_operations gauge",
      ];
      for (const [state, count] of counts()) {
        const label = STATE_LABELS[state];
        if (label) lines.push(`volpop_fastpath_backend_operations{state="${label}"} ${count}`);
      }
      return `${lines.join("\n")}\n`;
    },
  };
}
