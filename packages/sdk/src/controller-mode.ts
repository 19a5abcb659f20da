import { hostname } from "node:os";
import { CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { Registry } from "prom-client";
import type { ExtraOptions, ExtraValues, PopulatorCliOptions } from "./cli.ts";
import { createPopulatorController } from "./controller.ts";
import { ConfigError } from "./errors.ts";
import { startHttpEndpoint } from "./http-server.ts";
import { reuseConnections } from "./kube-connections.ts";
import { runWithLeaderElection } from "./leader-election.ts";
import type { Logger } from "./logger.ts";
import type { PopulatorProgram } from "./run.ts";
import { readMutualTls } from "./strategies/csi-fastpath/endpoint.ts";
import type { Strategy } from "./strategy.ts";
import { registerVolumePopulator } from "./volume-populator-registration.ts";

// Controller mode of runPopulator, in a module of its own so that populate mode never loads it.

/**
 * The program's own strategy, else the fast path when `--fastpath-endpoint` names backends, else the
 * controller's default (Pod). The fast path (gRPC, protobuf: a tenth of the bundle) is loaded only
 * when asked for, so a Pod-strategy controller does not carry it in memory.
 */
export async function strategyFor<Spec, E extends ExtraOptions>(
  program: PopulatorProgram<Spec, E>,
  options: PopulatorCliOptions<ExtraValues<E>>,
): Promise<Strategy | undefined> {
  const { endpoints, tlsDir, fallback } = options.fastPath;
  if (program.strategy) {
    if (endpoints.length > 0) {
      throw new ConfigError(
        `${program.programName} brings its own strategy (${program.strategy.name}): --fastpath-endpoint cannot change it`,
      );
    }
    return program.strategy;
  }
  if (endpoints.length === 0) return undefined;
  const tls = tlsDir ? readMutualTls(tlsDir) : undefined;
  const { csiFastPathStrategy } = await import("./strategies/csi-fastpath/strategy.ts");
  return csiFastPathStrategy({ backends: endpoints.map((endpoint) => ({ endpoint, tls })), fallback });
}

export async function controllerMode<Spec, E extends ExtraOptions>(
  program: PopulatorProgram<Spec, E>,
  options: PopulatorCliOptions<ExtraValues<E>>,
  logger: Logger,
  stop: AbortSignal | undefined,
): Promise<number> {
  const kubeConfig = reuseConnections(new KubeConfig());
  if (options.kubeconfig) kubeConfig.loadFromFile(options.kubeconfig);
  else kubeConfig.loadFromDefault();
  if (options.master) {
    const cluster = kubeConfig.getCurrentCluster();
    if (cluster)
      kubeConfig.clusters = kubeConfig.clusters.map((c) =>
        c === cluster ? { ...c, server: options.master as string } : c,
      );
  }
  const registry = new Registry();
  let strategy: Strategy | undefined;
  try {
    strategy = await strategyFor(program, options);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // Like a usage error: said once, plainly, before anything starts.
    logger.error({ code: error.code }, error.message);
    return 2;
  }
  const controller = createPopulatorController({
    populator: program.populator,
    kubeConfig,
    namespace: options.namespace,
    ...(options.imageName ? { imageName: options.imageName } : {}),
    ...(strategy ? { strategy } : {}),
    ...(program.settings ? { settings: program.settings } : {}),
    workers: options.workers,
    registry,
    logger,
  });
  const abort = new AbortController();
  const shutDown = (why: string) => {
    logger.info({ why }, "shutting down");
    abort.abort();
  };
  stop?.addEventListener("abort", () => shutDown("stopped by the caller"), { once: true });
  const onSignal = (signal: NodeJS.Signals) => shutDown(signal);
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  const endpoint = options.httpEndpoint
    ? await startHttpEndpoint({
        address: options.httpEndpoint,
        metricsPath: options.metricsPath,
        registry,
        checks: { healthz: () => controller.healthz(), readyz: () => controller.readyz() },
        logger,
      })
    : undefined;
  try {
    await registerVolumePopulator(
      kubeConfig.makeApiClient(CustomObjectsApi),
      program.populator.source,
      logger,
    );
    const election = options.leaderElection;
    if (!election.enabled) {
      await controller.run(abort.signal);
      return 0;
    }
    // Only the Lease holder reconciles; the others wait, ready to take over.
    await runWithLeaderElection(
      {
        kubeConfig,
        namespace: election.namespace,
        name: `${program.populator.prefix}-populator`,
        identity: `${hostname()}-${process.pid}`,
        leaseDurationMs: election.leaseDurationMs,
        renewDeadlineMs: election.renewDeadlineMs,
        retryPeriodMs: election.retryPeriodMs,
        signal: abort.signal,
        logger,
      },
      (leading) => controller.run(leading),
    );
    return 0;
  } finally {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
    await endpoint?.close();
  }
}
