import { KubeConfig } from "@kubernetes/client-node";
import type { ExtraOptions, ExtraValues, PopulatorCliOptions } from "./cli.ts";
import { addPopulator } from "./controller.ts";
import { ConfigError } from "./errors.ts";
import type { Logger } from "./logger.ts";
import { createManager } from "./manager/manager.ts";
import type { PopulatorProgram } from "./run.ts";
import { readMutualTls } from "./strategies/csi-fastpath/endpoint.ts";
import type { Strategy } from "./strategy.ts";

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
  const kubeConfig = new KubeConfig();
  if (options.kubeconfig) kubeConfig.loadFromFile(options.kubeconfig);
  else kubeConfig.loadFromDefault();
  if (options.master) {
    const cluster = kubeConfig.getCurrentCluster();
    if (cluster)
      kubeConfig.clusters = kubeConfig.clusters.map((c) =>
        c === cluster ? { ...c, server: options.master as string } : c,
      );
  }
  let strategy: Strategy | undefined;
  try {
    strategy = await strategyFor(program, options);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // Like a usage error: said once, plainly, before anything starts.
    logger.error({ code: error.code }, error.message);
    return 2;
  }
  const election = options.leaderElection;
  const manager = createManager({
    kubeConfig,
    logger,
    handleSignals: true,
    ...(options.httpEndpoint
      ? { httpEndpoint: { address: options.httpEndpoint, metricsPath: options.metricsPath } }
      : {}),
    // Only the Lease holder reconciles; the others wait, ready to take over.
    ...(election.enabled
      ? {
          leaderElection: {
            namespace: election.namespace,
            name: `${program.populator.prefix}-populator`,
            leaseDurationMs: election.leaseDurationMs,
            renewDeadlineMs: election.renewDeadlineMs,
            retryPeriodMs: election.retryPeriodMs,
          },
        }
      : {}),
  });
  addPopulator(manager, {
    populator: program.populator,
    namespace: options.namespace,
    ...(options.imageName ? { imageName: options.imageName } : {}),
    ...(strategy ? { strategy } : {}),
    ...(program.settings ? { settings: program.settings } : {}),
    workers: options.workers,
  });
  await manager.run(stop);
  return 0;
}
