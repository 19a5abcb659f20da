import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { KubeConfig } from "@kubernetes/client-node";
import { CliUsageError, createLogger, type Logger } from "@volpop/sdk";
import { reuseConnections, runWithLeaderElection, startHttpEndpoint } from "@volpop/sdk/runtime";
import { collectDefaultMetrics, Registry } from "prom-client";
import { PROGRAM_NAME, parseValidatorArgs, type ValidatorCliOptions } from "./cli.ts";
import { createValidatorController } from "./controller.ts";
import { VERSION } from "./version.ts";
import { type AdmissionWebhook, createAdmissionWebhook } from "./webhook/webhook.ts";

/** Where a pod finds its own namespace. */
const SERVICE_ACCOUNT_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/** Options for {@link runValidator}, for embedding and tests. */
export interface RunValidatorOptions {
  /** Stops the validator like SIGTERM does. */
  readonly signal?: AbortSignal;
  /** Receives `--help` and `--version` text. Default: stdout. */
  readonly stdout?: (text: string) => void;
  /** Receives usage errors. Default: stderr. */
  readonly stderr?: (text: string) => void;
}

/**
 * The `main` of the validator binary: parses upstream's flags, then runs the controller with the
 * metrics and health endpoint, and the admission webhook if `--webhook-port` asks for it, until
 * SIGTERM or SIGINT (or `options.signal`). Resolves to the process exit code: 0 after a clean stop,
 * `--help` or `--version`; 2 for a usage error.
 */
export async function runValidator(
  argv: readonly string[] = process.argv.slice(2),
  options: RunValidatorOptions = {},
): Promise<number> {
  const stdout = options.stdout ?? ((text) => process.stdout.write(text));
  const stderr = options.stderr ?? ((text) => process.stderr.write(text));
  let parsed: ReturnType<typeof parseValidatorArgs>;
  try {
    parsed = parseValidatorArgs(argv, VERSION);
  } catch (error) {
    if (error instanceof CliUsageError) {
      stderr(`${error.message}\n\n${error.usage}`);
      return 2;
    }
    throw error;
  }
  if (parsed.action !== "run") {
    stdout(`${parsed.text.trimEnd()}\n`);
    return 0;
  }
  const cli = parsed.options;
  const logger = createLogger({ name: PROGRAM_NAME, level: cli.logLevel });
  logger.info({ version: VERSION }, "starting the volume data source validator");
  return runController(cli, logger, options.signal);
}

async function runController(cli: ValidatorCliOptions, logger: Logger, stop: AbortSignal | undefined) {
  const kubeConfig = reuseConnections(new KubeConfig());
  if (cli.kubeconfig) kubeConfig.loadFromFile(cli.kubeconfig);
  else kubeConfig.loadFromDefault();

  const registry = new Registry();
  // Upstream's registry carries the process start time; prom-client's defaults include it.
  collectDefaultMetrics({ register: registry });
  const controller = createValidatorController({
    kubeConfig,
    workers: cli.workerThreads,
    resyncPeriodMs: cli.resyncPeriodMs,
    ...(cli.watchNamespace === undefined ? {} : { namespace: cli.watchNamespace }),
    registry,
    logger,
  });
  // The webhook answers from the controller's VolumePopulator cache. Readiness covers both, so with
  // leader election only the leader (whose controller runs) is ready and receives the API server's calls.
  const webhook: AdmissionWebhook | undefined =
    cli.webhook.port === undefined
      ? undefined
      : createAdmissionWebhook({
          kubeConfig,
          port: cli.webhook.port,
          service: cli.webhook.service,
          namespace: cli.webhook.namespace ?? podNamespace(),
          configurationName: cli.webhook.configurationName,
          secretName: cli.webhook.secretName,
          registrations: () => controller.registrations(),
          registry,
          logger,
        });

  const abort = new AbortController();
  const shutDown = (why: string) => {
    if (abort.signal.aborted) return;
    logger.info({ why }, "shutting down");
    abort.abort();
  };
  stop?.addEventListener("abort", () => shutDown("stopped by the caller"), { once: true });
  if (stop?.aborted) shutDown("stopped by the caller");
  const onSignal = (signal: NodeJS.Signals) => shutDown(signal);
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  try {
    const endpoint = cli.httpEndpoint
      ? await startHttpEndpoint({
          address: cli.httpEndpoint,
          metricsPath: cli.metricsPath,
          registry,
          checks: {
            healthz: () => controller.healthz(),
            readyz: () => [...controller.readyz(), ...(webhook?.readyz() ?? [])],
          },
          logger,
        })
      : undefined;
    const serving = webhook?.run(abort.signal);
    try {
      const election = cli.leaderElection;
      if (election.enabled) {
        // Only the Lease holder validates; the others wait, ready to take over (upstream's Lease name).
        await runWithLeaderElection(
          {
            kubeConfig,
            namespace: election.namespace ?? podNamespace(),
            name: "data-source-validator-leader",
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
      }
      await controller.run(abort.signal);
      return 0;
    } finally {
      // However the controller ended, the webhook ends with it.
      shutDown("the controller stopped");
      await serving;
      await endpoint?.close();
    }
  } finally {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  }
}

/** The namespace this process runs in: `$POD_NAMESPACE`, the service account's, or `default`. */
export function podNamespace(): string {
  if (process.env.POD_NAMESPACE) return process.env.POD_NAMESPACE;
  try {
    return readFileSync(SERVICE_ACCOUNT_NAMESPACE, "utf8").trim() || "default";
  } catch {
    return "default";
  }
}
