import { writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { Registry } from "prom-client";
import {
  CliUsageError,
  type ExtraOptions,
  type ExtraValues,
  type PopulatorCliOptions,
  parsePopulatorArgs,
} from "./cli.ts";
import { createPopulatorController } from "./controller.ts";
import { ConfigError } from "./errors.ts";
import { readMutualTls } from "./fastpath/endpoint.ts";
import { startHttpEndpoint } from "./http-server.ts";
import { reuseConnections } from "./kube-connections.ts";
import { runWithLeaderElection } from "./leader-election.ts";
import { createLogger, type Logger } from "./logger.ts";
import { detectTarget, type PopulateContext, progressReporter } from "./populate.ts";
import type { Populator } from "./populator.ts";
import type { PopulationSettings } from "./settings.ts";
import { csiFastPathStrategy } from "./strategies/csi-fastpath.ts";
import type { Strategy } from "./strategy.ts";
import { registerVolumePopulator } from "./volume-populator-registration.ts";

/** A populator binary: one image, two modes, as upstream's examples. */
export interface PopulatorProgram<Spec, E extends ExtraOptions> {
  readonly populator: Populator<Spec>;
  readonly version: string;
  /** Program name in help and logs, e.g. `hello-populator`. */
  readonly programName: string;
  /** Default `--namespace` and `--image-name`. */
  readonly defaults: { readonly namespace: string; readonly imageName?: string };
  /** The populator's own flags, for populate mode (upstream hello: `--file-name`, `--file-contents`). */
  readonly flags?: E;
  /** Populate mode, inside the populator pod: write the data into `context.target`. */
  populate(context: PopulateContext<ExtraValues<E>>): Promise<void>;
  readonly strategy?: Strategy;
  readonly settings?: Partial<Omit<PopulationSettings, "namespace" | "imageName">>;
}

/** Where Kubernetes reads a container's termination message from. */
const TERMINATION_LOG = "/dev/termination-log";

/**
 * The `main` of a populator binary: parses upstream's flags, then runs the controller (with metrics,
 * health checks and a clean SIGTERM) or populate mode. Resolves to the process exit code.
 */
export async function runPopulator<Spec, const E extends ExtraOptions = Record<never, never>>(
  program: PopulatorProgram<Spec, E>,
  argv: readonly string[] = process.argv.slice(2),
  /** Stops controller mode like SIGTERM does (for embedding and tests). */
  signal?: AbortSignal,
): Promise<number> {
  let parsed: ReturnType<typeof parsePopulatorArgs<E>>;
  try {
    parsed = parsePopulatorArgs(
      argv,
      {
        ...program.defaults,
        version: program.version,
        prefix: program.populator.prefix,
        programName: program.programName,
      },
      program.flags,
    );
  } catch (error) {
    if (error instanceof CliUsageError) {
      process.stderr.write(`${error.message}\n\n${error.usage}`);
      return 2;
    }
    throw error;
  }
  if (parsed.action !== "run") {
    process.stdout.write(`${parsed.text}\n`);
    return 0;
  }
  const options = parsed.options;
  const logger = createLogger({ name: program.programName, level: options.logLevel });
  if (options.mode === "populate") return populateMode(program, options, logger);
  return controllerMode(program, options, logger, signal);
}

async function populateMode<Spec, E extends ExtraOptions>(
  program: PopulatorProgram<Spec, E>,
  options: PopulatorCliOptions<ExtraValues<E>>,
  logger: Logger,
): Promise<number> {
  try {
    await program.populate({
      target: detectTarget(),
      extra: options.extra,
      reportProgress: progressReporter(),
    });
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    logger.error({ err: error }, "population failed");
    // The controller shows the termination message in the PopulatorFailed event on the user's PVC.
    await writeFile(TERMINATION_LOG, message).catch(() => undefined);
    return 1;
  }
}

/**
 * The program's own strategy, else the fast path when `--fastpath-endpoint` names backends, else the
 * controller's default (Pod).
 */
export function strategyFor<Spec, E extends ExtraOptions>(
  program: PopulatorProgram<Spec, E>,
  options: PopulatorCliOptions<ExtraValues<E>>,
): Strategy | undefined {
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
  return csiFastPathStrategy({ backends: endpoints.map((endpoint) => ({ endpoint, tls })), fallback });
}

async function controllerMode<Spec, E extends ExtraOptions>(
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
    strategy = strategyFor(program, options);
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
