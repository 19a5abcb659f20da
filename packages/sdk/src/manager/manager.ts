/**
 * The Manager, as controller-runtime's: what the controllers of one process share. It owns the
 * cluster connection, the shared informers (one watch per collection), one metrics registry, the
 * HTTP endpoint (healthz, readyz, metrics), leader election, process signals and the drain on
 * shutdown. Controllers — several populators of different kinds, the validator — are added to it.
 */
import os from "node:os";
import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node";
import { collectDefaultMetrics, Registry } from "prom-client";
import { type Clock, systemClock } from "../clock.ts";
import { type HealthResult, type HttpEndpoint, startHttpEndpoint } from "../http-server.ts";
import { reuseConnections } from "../kube-connections.ts";
import { type LeaderElectionTimings, runWithLeaderElection } from "../leader-election.ts";
import { createLogger, type Logger } from "../logger.ts";
import { type Informer, type InformerRequest, SharedInformers } from "./informers.ts";
import type { Runnable } from "./runnable.ts";

/** Only one replica runs the controllers: the one holding this Lease. */
export interface ManagerLeaderElection extends LeaderElectionTimings {
  /** Namespace of the Lease. */
  readonly namespace: string;
  /** Name of the Lease; every replica of one program uses the same name. */
  readonly name: string;
}

/** Everything a Manager needs; only `kubeConfig` is required. */
export interface ManagerOptions {
  /** Cluster access, shared by every controller (connections are reused). */
  readonly kubeConfig: KubeConfig;
  /**
   * Where every controller registers its metrics, served on the HTTP endpoint. Default: a new
   * registry with prom-client's process and Node.js metrics.
   */
  readonly registry?: Registry;
  /** Structured logger. Default: JSON on stdout at `info`. */
  readonly logger?: Logger;
  /** Time source (tests). */
  readonly clock?: Clock;
  /** Who this process is, in events and the Lease. Default: host name and pid. */
  readonly identity?: string;
  /** Elect a leader among replicas; without it every controller runs at once. */
  readonly leaderElection?: ManagerLeaderElection;
  /** Serve `/healthz`, `/readyz` and metrics here (upstream's `--http-endpoint`), e.g. `:8080`. */
  readonly httpEndpoint?: { readonly address: string; readonly metricsPath?: string };
  /** Stop on SIGTERM and SIGINT (a program's main); off for a Manager embedded in tests. */
  readonly handleSignals?: boolean;
}

/** See the module comment. */
export interface Manager {
  readonly kubeConfig: KubeConfig;
  readonly registry: Registry;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly identity: string;
  /**
   * A view of a collection, sharing one watch with every other controller of this Manager that
   * asks for the same collection. Ask before {@link Manager.run}.
   */
  informer<T extends KubernetesObject>(request: InformerRequest<T>): Informer<T>;
  /** Runs `runnable` with the Manager (only while leading, unless it says otherwise). Before `run`. */
  add(runnable: Runnable): void;
  /** Liveness: the Manager runs. */
  healthz(): HealthResult;
  /** Readiness: every runnable's and watch's. */
  readyz(): HealthResult;
  /**
   * Starts the informers, the HTTP endpoint and the runnables, and runs until `signal` aborts (or a
   * process signal, with `handleSignals`), then drains the runnables and stops. Rejects with a
   * `LeadershipLostError` when leadership is lost: another replica may lead already, so the program
   * should exit. Call once.
   */
  run(signal?: AbortSignal): Promise<void>;
}

/** Creates a Manager; see the module comment. */
export function createManager(options: ManagerOptions): Manager {
  const kubeConfig = reuseConnections(options.kubeConfig);
  const logger = options.logger ?? createLogger({ name: "volpop", level: "info" });
  const clock = options.clock ?? systemClock;
  const identity = options.identity ?? `${os.hostname()}-${process.pid}`;
  const registry = options.registry ?? withProcessMetrics(new Registry());
  const informers = new SharedInformers({ kubeConfig, logger });
  const runnables: Runnable[] = [];
  let running = false;

  const manager: Manager = {
    kubeConfig,
    registry,
    logger,
    clock,
    identity,
    informer: (request) => informers.informer(request),
    add(runnable) {
      if (running) throw new Error(`${runnable.name} added after the manager started`);
      runnables.push(runnable);
    },
    healthz: () => [{ name: "manager", ok: true }],
    readyz: () => runnables.flatMap((r) => r.readyz?.() ?? []),
    async run(signal) {
      if (running) throw new Error("a manager runs once");
      running = true;
      const stop = new AbortController();
      const shutDown = (why: string) => {
        if (stop.signal.aborted) return;
        logger.info({ why }, "shutting down");
        stop.abort();
      };
      const onStop = () => shutDown("stopped by the caller");
      signal?.addEventListener("abort", onStop, { once: true });
      if (signal?.aborted) onStop();
      const onSignal = (name: NodeJS.Signals) => shutDown(name);
      if (options.handleSignals) {
        process.once("SIGTERM", onSignal);
        process.once("SIGINT", onSignal);
      }
      let endpoint: HttpEndpoint | undefined;
      try {
        endpoint = options.httpEndpoint
          ? await startHttpEndpoint({
              address: options.httpEndpoint.address,
              ...(options.httpEndpoint.metricsPath ? { metricsPath: options.httpEndpoint.metricsPath } : {}),
              registry,
              checks: { healthz: () => manager.healthz(), readyz: () => manager.readyz() },
              logger,
            })
          : undefined;
        logger.info({ watches: informers.watchCount, runnables: runnables.map((r) => r.name) }, "starting");
        // Caches fill in every replica, so that a new leader decides at once from a complete world.
        informers.start(stop.signal);
        const always = runnables.filter((r) => r.needsLeaderElection === false);
        const leaderOnly = runnables.filter((r) => r.needsLeaderElection !== false);
        const background = runAll(always, stop.signal).catch((error: unknown) => {
          logger.error({ err: error }, "a runnable failed");
          shutDown("a runnable failed");
          throw error;
        });
        try {
          const election = options.leaderElection;
          if (leaderOnly.length === 0) {
            // Nothing to lead (a webhook-only program): run until stopped.
            await new Promise<void>((resolve) => {
              if (stop.signal.aborted) resolve();
              stop.signal.addEventListener("abort", () => resolve(), { once: true });
            });
          } else if (election === undefined) {
            await runAll(leaderOnly, stop.signal);
          } else {
            await runWithLeaderElection(
              { ...election, kubeConfig, identity, clock, signal: stop.signal, logger },
              (leading) => runAll(leaderOnly, leading),
            );
          }
        } finally {
          // However the leader's part ended, the rest ends with it.
          shutDown("the controllers stopped");
          await background;
        }
      } finally {
        if (options.handleSignals) {
          process.off("SIGTERM", onSignal);
          process.off("SIGINT", onSignal);
        }
        signal?.removeEventListener("abort", onStop);
        await informers.stop();
        await endpoint?.close();
        logger.info("stopped");
      }
    },
  };
  return manager;
}

/**
 * Runs every runnable until `signal` aborts; the first one to fail stops the others (they would go
 * on without it, e.g. reconciling after the Lease was released), and all are awaited before it
 * rejects with that failure.
 */
async function runAll(list: readonly Runnable[], signal: AbortSignal): Promise<void> {
  const group = new AbortController();
  const stopGroup = () => group.abort();
  signal.addEventListener("abort", stopGroup, { once: true });
  if (signal.aborted) stopGroup();
  try {
    const results = await Promise.allSettled(
      list.map((runnable) =>
        runnable.start(group.signal).catch((error: unknown) => {
          stopGroup();
          throw error;
        }),
      ),
    );
    const failed = results.find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
  } finally {
    signal.removeEventListener("abort", stopGroup);
  }
}

/** Upstream's registries carry the process's start time, CPU and memory; prom-client's defaults do. */
function withProcessMetrics(registry: Registry): Registry {
  collectDefaultMetrics({ register: registry });
  return registry;
}
