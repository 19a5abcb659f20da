import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { KubeConfig } from "@kubernetes/client-node";
import { CliUsageError, createLogger, type Logger } from "@volpop/sdk";
import { createManager } from "@volpop/sdk/runtime";
import { PROGRAM_NAME, parseValidatorArgs, type ValidatorCliOptions } from "./cli.ts";
import { addValidator } from "./controller.ts";
import { VERSION } from "./version.ts";
import { createAdmissionWebhook } from "./webhook/webhook.ts";

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
  const kubeConfig = new KubeConfig();
  if (cli.kubeconfig) kubeConfig.loadFromFile(cli.kubeconfig);
  else kubeConfig.loadFromDefault();
  const election = cli.leaderElection;
  const manager = createManager({
    kubeConfig,
    logger,
    identity: hostname(),
    handleSignals: true,
    ...(cli.httpEndpoint
      ? { httpEndpoint: { address: cli.httpEndpoint, metricsPath: cli.metricsPath } }
      : {}),
    // Only the Lease holder validates; the others wait, ready to take over (upstream's Lease name).
    ...(election.enabled
      ? {
          leaderElection: {
            namespace: election.namespace ?? podNamespace(),
            name: "data-source-validator-leader",
            leaseDurationMs: election.leaseDurationMs,
            renewDeadlineMs: election.renewDeadlineMs,
            retryPeriodMs: election.retryPeriodMs,
          },
        }
      : {}),
  });
  const validator = addValidator(manager, {
    workers: cli.workerThreads,
    resyncPeriodMs: cli.resyncPeriodMs,
    ...(cli.watchNamespace === undefined ? {} : { namespace: cli.watchNamespace }),
  });
  if (cli.webhook.port !== undefined) {
    // The webhook answers from the VolumePopulator cache, which fills in every replica: each one
    // answers (and is ready), leader or not, as controller-runtime's webhooks do.
    const webhook = createAdmissionWebhook({
      kubeConfig,
      port: cli.webhook.port,
      service: cli.webhook.service,
      namespace: cli.webhook.namespace ?? podNamespace(),
      configurationName: cli.webhook.configurationName,
      secretName: cli.webhook.secretName,
      registrations: () => validator.registrations(),
      registry: manager.registry,
      logger,
    });
    manager.add({
      name: "admission-webhook",
      needsLeaderElection: false,
      start: (signal) => webhook.run(signal),
      readyz: () => webhook.readyz(),
    });
  }
  await manager.run(stop);
  return 0;
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
