/**
 * The fast path's own names: the annotation, event reasons (both from names.ts), metrics and runtime
 * actions it adds to the core's, all here so that the core never names a strategy.
 */
import {
  type Counter,
  type Histogram,
  Counter as PromCounter,
  Histogram as PromHistogram,
  type Registry,
} from "prom-client";
import { registeredOnce } from "../../metrics.ts";
import type { PopulateRequest } from "./protocol.ts";

// The names users see live apart, so that reading them (`volpop doctor`) does not load prom-client.
export { FastPathEventReason, fastPathBackendAnnotation } from "./names.ts";

/** What a `runtime` step asks of the fast path's runtime. */
export type FastPathAction =
  /** Asks the backend at `endpoint` to populate (idempotent on the request's operation id). */
  | { readonly kind: "populate"; readonly endpoint: string; readonly request: PopulateRequest }
  /** Cancels and forgets the PVC's operation at `endpoint`. */
  | { readonly kind: "cancel"; readonly endpoint: string }
  /** Counts a decision, once it is recorded on PVC', in `volpop_fastpath_decisions_total`. */
  | { readonly kind: "decided"; readonly decision: "fastpath" | "fallback"; readonly reason: string };

export interface FastPathMetrics {
  /** `volpop_fastpath_backend_call_seconds{method,code}`: fast-path backend calls by method and gRPC code. */
  readonly callSeconds: Histogram<"method" | "code">;
  /** `volpop_fastpath_decisions_total{decision,reason}`: populations sent down the fast path or falling back. */
  readonly decisionsTotal: Counter<"decision" | "reason">;
}

/**
 * The fast path's metrics on `registry`, registered once: the runtime starts again with every
 * leadership term, on the same registry.
 */
export function fastPathMetrics(registry: Registry): FastPathMetrics {
  const callSeconds = registeredOnce(
    registry,
    "volpop_fastpath_backend_call_seconds",
    () =>
      new PromHistogram({
        name: "volpop_fastpath_backend_call_seconds",
        help: "Calls to CSI fast-path backends by method and gRPC status code",
        labelNames: ["method", "code"] as const,
        buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers: [registry],
      }),
  );
  const decisionsTotal = registeredOnce(
    registry,
    "volpop_fastpath_decisions_total",
    () =>
      new PromCounter({
        name: "volpop_fastpath_decisions_total",
        help: "Populations sent down the CSI fast path (decision=fastpath) or to the Pod strategy (decision=fallback), by reason",
        labelNames: ["decision", "reason"] as const,
        registers: [registry],
      }),
  );
  return { callSeconds, decisionsTotal };
}
