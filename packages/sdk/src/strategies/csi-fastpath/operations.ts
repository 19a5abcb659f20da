import { setTimeout as sleep } from "node:timers/promises";
import { status } from "@grpc/grpc-js";
import { VolpopError } from "../../errors.ts";
import type { HealthResult } from "../../http-server.ts";
import type { Logger } from "../../logger.ts";
import type { StrategyRuntime, StrategyRuntimeContext } from "../../strategy.ts";
import { BackendCallError, BackendClient } from "./backend-client.ts";
import { type BackendEndpoint, describeEndpoint, type MutualTls } from "./endpoint.ts";
import type { BackendView, FastPathObservation, OperationPhase, OperationView } from "./observation.ts";
import { type Operation, OperationState } from "./protocol.ts";
import { type FastPathAction, type FastPathMetrics, fastPathMetrics } from "./vocabulary.ts";

/** One configured backend. */
export interface BackendTarget {
  readonly endpoint: BackendEndpoint;
  /** Mutual TLS, required for TCP endpoints. */
  readonly tls?: MutualTls | undefined;
}

export interface FastPathOperationsOptions {
  readonly backends: readonly BackendTarget[];
  /** How often a running operation is asked for its state. Default 1 s: calls are tiny. */
  readonly pollIntervalMs?: number;
  /** How often each backend's GetBackendInfo is asked again. Default 30 s. */
  readonly infoRefreshMs?: number;
  /** Deadline of each call. Default 10 s. */
  readonly callTimeoutMs?: number;
  /** Tries of a call answered UNAVAILABLE. Default 4. */
  readonly attempts?: number;
}

const PHASES: Record<number, OperationPhase> = {
  [OperationState.OPERATION_STATE_PENDING]: "pending",
  [OperationState.OPERATION_STATE_RUNNING]: "running",
  [OperationState.OPERATION_STATE_SUCCEEDED]: "succeeded",
  [OperationState.OPERATION_STATE_FAILED]: "failed",
  [OperationState.OPERATION_STATE_CANCELLED]: "cancelled",
};

const isFinal = (phase: OperationView["phase"]) => phase !== "pending" && phase !== "running";

/**
 * The fast path's side of the controller: keeps one client per backend, what each said about
 * itself, and the state of each PVC's operation, polled while it runs. Reconciles read this state
 * (like an informer's cache) and ask for calls through steps; a change in an operation requeues its PVC.
 */
export class FastPathOperations implements StrategyRuntime<FastPathObservation, FastPathAction> {
  readonly #options: FastPathOperationsOptions;
  readonly #clients = new Map<string, BackendClient>();
  readonly #backends = new Map<string, BackendView>();
  readonly #operations = new Map<string, OperationView>();
  readonly #following = new Set<string>();
  #context: StrategyRuntimeContext | undefined;
  #metrics: FastPathMetrics | undefined;
  #stop = new AbortController();

  constructor(options: FastPathOperationsOptions) {
    this.#options = options;
  }

  get #logger(): Logger | undefined {
    return this.#context?.logger;
  }

  async start(context: StrategyRuntimeContext): Promise<void> {
    this.#context = context;
    this.#stop = new AbortController();
    const metrics = fastPathMetrics(context.metrics.registry);
    this.#metrics = metrics;
    for (const target of this.#options.backends) {
      const endpoint = describeEndpoint(target.endpoint);
      this.#clients.set(
        endpoint,
        new BackendClient({
          endpoint: target.endpoint,
          tls: target.tls,
          ...(this.#options.callTimeoutMs !== undefined
            ? { callTimeoutMs: this.#options.callTimeoutMs }
            : {}),
          ...(this.#options.attempts !== undefined ? { attempts: this.#options.attempts } : {}),
          onCall: (method, code, seconds) => metrics.callSeconds.observe({ method, code }, seconds),
        }),
      );
    }
    await this.#refreshAll();
    // A new term (leader election) keeps what the last one learnt: follow what was still running.
    for (const [uid, view] of this.#operations) if (!isFinal(view.phase)) this.#follow(uid);
    void this.#refreshLoop(AbortSignal.any([context.signal, this.#stop.signal]));
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    for (const client of this.#clients.values()) client.close();
    this.#clients.clear();
  }

  observe(pvcUid: string): FastPathObservation {
    return { backends: this.#ordered(), operation: this.#operations.get(pvcUid) };
  }

  /** Backends in configured order (not the order they first answered), so output is stable. */
  #ordered(): BackendView[] {
    return [...this.#clients.keys()].flatMap((endpoint) => {
      const view = this.#backends.get(endpoint);
      return view ? [view] : [];
    });
  }

  /** `populate`, `cancel` or `decided`: names the failpoints of each (see StrategyRuntime.actionName). */
  actionName(action: FastPathAction): string {
    return action.kind;
  }

  health(): HealthResult {
    // Informational: an unavailable backend means pods do the work, not that the controller is unready.
    return this.#ordered().map((b) => ({
      name: `fastpath-backend ${b.endpoint}`,
      ok: true,
      ...(b.state === "ready" ? {} : { reason: `unavailable (populations fall back to pods): ${b.error}` }),
    }));
  }

  async perform(step: FastPathAction, pvcUid: string): Promise<void> {
    if (step.kind === "decided") {
      this.#metrics?.decisionsTotal.inc({ decision: step.decision, reason: step.reason });
      return;
    }
    const client = this.#clients.get(step.endpoint);
    if (step.kind === "cancel") {
      this.#operations.delete(pvcUid);
      if (!client) {
        this.#logger?.warn(
          { pvcUid, endpoint: step.endpoint },
          "the fast-path backend recorded on PVC' is no longer configured: its operation cannot be cancelled",
        );
        return;
      }
      try {
        await client.cancelOperation(pvcUid);
      } catch (error) {
        // Cleanup must not hang on a backend that is gone: the volume itself is deleted with PVC'.
        this.#logger?.warn(
          { pvcUid, endpoint: step.endpoint, error: String(error) },
          "could not cancel the fast-path operation; going on with cleanup",
        );
      }
      return;
    }
    if (!client) {
      this.#record(
        pvcUid,
        rejected(step.endpoint, step.request.attempt, "NOT_CONFIGURED", "", "backend not configured"),
      );
      return;
    }
    try {
      const operation = await client.populate(step.request);
      this.#record(pvcUid, viewOf(step.endpoint, operation));
      this.#follow(pvcUid);
    } catch (error) {
      if (!(error instanceof BackendCallError)) {
        // A reply that breaks the protocol (no operation): counted like any failed attempt, not a
        // silent loop of reconcile errors.
        if (!(error instanceof VolpopError)) throw error;
        this.#record(pvcUid, rejected(step.endpoint, step.request.attempt, "PROTOCOL", "", error.message));
        return;
      }
      if (error.grpcCode === status.UNAVAILABLE) this.#markUnavailable(step.endpoint, error.message);
      this.#record(
        pvcUid,
        rejected(step.endpoint, step.request.attempt, grpcName(error), error.reason ?? "", error.details),
      );
    }
  }

  #record(pvcUid: string, view: OperationView): void {
    const before = this.#operations.get(pvcUid);
    this.#operations.set(pvcUid, view);
    if (
      before?.phase !== view.phase ||
      before.attempt !== view.attempt ||
      (before.unreachableSince === undefined) !== (view.unreachableSince === undefined)
    ) {
      this.#context?.requeue(pvcUid);
    }
  }

  #follow(pvcUid: string): void {
    if (this.#following.has(pvcUid)) return;
    this.#following.add(pvcUid);
    const signal = AbortSignal.any([
      this.#context?.signal ?? new AbortController().signal,
      this.#stop.signal,
    ]);
    void (async () => {
      try {
        for (;;) {
          const view = this.#operations.get(pvcUid);
          if (!view || isFinal(view.phase) || signal.aborted) return;
          await sleep(this.#options.pollIntervalMs ?? 1000, undefined, { signal }).catch(() => undefined);
          const current = this.#operations.get(pvcUid);
          if (!current || isFinal(current.phase) || signal.aborted) return;
          const client = this.#clients.get(current.endpoint);
          if (!client) return;
          try {
            const operation = await client.getOperation(pvcUid);
            // A cancel or a newer attempt may have replaced the view while the call was out.
            if (this.#operations.get(pvcUid) !== current) continue;
            this.#record(pvcUid, viewOf(current.endpoint, operation));
          } catch (error) {
            if (this.#operations.get(pvcUid) !== current) continue;
            if (error instanceof BackendCallError && error.grpcCode === status.NOT_FOUND) {
              // The backend lost its records (restarted): forget ours, the next reconcile asks again
              // with the same operation id and attempt, and the backend starts over.
              this.#logger?.info(
                { pvcUid, endpoint: current.endpoint },
                "fast-path backend forgot the operation",
              );
              this.#operations.delete(pvcUid);
              this.#context?.requeue(pvcUid);
              return;
            }
            this.#record(pvcUid, { ...current, unreachableSince: current.unreachableSince ?? Date.now() });
            if (error instanceof BackendCallError && error.grpcCode === status.UNAVAILABLE) {
              this.#markUnavailable(current.endpoint, error.message);
            }
          }
        }
      } finally {
        this.#following.delete(pvcUid);
      }
    })();
  }

  #markUnavailable(endpoint: string, error: string): void {
    const view = this.#backends.get(endpoint);
    this.#backends.set(endpoint, { endpoint, state: "unavailable", info: view?.info, error });
  }

  async #refreshAll(): Promise<void> {
    await Promise.all(
      [...this.#clients.entries()].map(async ([endpoint, client]) => {
        try {
          const info = await client.getBackendInfo();
          const before = this.#backends.get(endpoint);
          if (before?.state !== "ready")
            this.#logger?.info({ endpoint, backend: info.name }, "fast-path backend ready");
          this.#backends.set(endpoint, { endpoint, state: "ready", info });
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          if (this.#backends.get(endpoint)?.state !== "unavailable") {
            this.#logger?.warn({ endpoint, error: message }, "fast-path backend unavailable");
          }
          this.#markUnavailable(endpoint, message);
        }
      }),
    );
  }

  async #refreshLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await sleep(this.#options.infoRefreshMs ?? 30_000, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) return;
      await this.#refreshAll();
      // Operations whose backend was unreachable: follow them again now it may be back.
      for (const [uid, view] of this.#operations) if (!isFinal(view.phase)) this.#follow(uid);
    }
  }
}

function grpcName(error: BackendCallError): string {
  return error.code.replace(/^FASTPATH_/, "");
}

function rejected(
  endpoint: string,
  attempt: number,
  grpcCode: string,
  reason: string,
  message: string,
): OperationView {
  return { endpoint, attempt, phase: "rejected", bytesDone: 0, bytesTotal: 0, message, reason, grpcCode };
}

function viewOf(endpoint: string, operation: Operation): OperationView {
  return {
    endpoint,
    attempt: operation.attempt,
    phase: PHASES[operation.state] ?? "pending",
    bytesDone: operation.bytesDone,
    bytesTotal: operation.bytesTotal,
    message: operation.message,
    reason: operation.failureReason,
  };
}
