/**
 * The validator's command line: upstream's flags, spelled and defaulted as upstream's binary does,
 * read the way Go's `flag` package reads them so that upstream manifests work unchanged.
 */
import { CliUsageError, LOG_LEVELS, type LogLevel } from "@volpop/sdk";
import { parseGoDuration, parseListenAddress } from "@volpop/sdk/runtime";
import { DEFAULT_RESYNC_PERIOD_MS, DEFAULT_WORKER_THREADS } from "./controller.ts";
import {
  DEFAULT_WEBHOOK_CONFIGURATION,
  DEFAULT_WEBHOOK_SECRET,
  DEFAULT_WEBHOOK_SERVICE,
} from "./webhook/webhook.ts";

/** Leader election settings (`--leader-election*`); durations in milliseconds. */
export interface ValidatorLeaderElection {
  /** `--leader-election`. */
  readonly enabled: boolean;
  /** `--leader-election-namespace`; `undefined`: the namespace the validator runs in. */
  readonly namespace: string | undefined;
  /** `--leader-election-lease-duration`, 15 s. */
  readonly leaseDurationMs: number;
  /** `--leader-election-renew-deadline`, 10 s. */
  readonly renewDeadlineMs: number;
  /** `--leader-election-retry-period`, 5 s. */
  readonly retryPeriodMs: number;
}

/** The admission webhook's settings (`--webhook-*`, volpop additions). */
export interface ValidatorWebhookOptions {
  /** `--webhook-port`: HTTPS port of the webhook; `undefined` (the default, or 0) turns it off. */
  readonly port: number | undefined;
  /** `--webhook-service`: the Service the API server calls, named in the certificate. */
  readonly service: string;
  /** `--webhook-namespace`; `undefined`: the namespace the validator runs in. */
  readonly namespace: string | undefined;
  /** `--webhook-configuration-name`: the ValidatingWebhookConfiguration whose `caBundle` the validator sets. */
  readonly configurationName: string;
  /** `--webhook-secret`: the Secret that holds the webhook's CA and serving certificate. */
  readonly secretName: string;
}

/** The parsed command line, flag by flag. */
export interface ValidatorCliOptions {
  /** `--kubeconfig`; `undefined`: `$KUBECONFIG`, `~/.kube/config` or in-cluster. */
  readonly kubeconfig: string | undefined;
  /** `--worker-threads`, 10. */
  readonly workerThreads: number;
  /** `--resync-period`, 60 s; 0 turns resyncs off. */
  readonly resyncPeriodMs: number;
  readonly leaderElection: ValidatorLeaderElection;
  /** `--http-endpoint` for metrics and health; `undefined` (the default, or empty) turns the server off. */
  readonly httpEndpoint: string | undefined;
  /** `--metrics-path`, `/metrics`. */
  readonly metricsPath: string;
  /** `--log-level`, `info`; upstream's klog `--v` raises it to `debug` from 4 when `--log-level` is not given. */
  readonly logLevel: LogLevel;
  /** `--watch-namespace` (volpop addition): validate the PVCs of this namespace only; `undefined`: all. */
  readonly watchNamespace: string | undefined;
  readonly webhook: ValidatorWebhookOptions;
}

/** What the command line asks for. */
export type ValidatorCliResult =
  | { readonly action: "run"; readonly options: ValidatorCliOptions }
  | { readonly action: "help" | "version"; readonly text: string };

/** Name in the help and version text, upstream's binary name. */
export const PROGRAM_NAME = "volume-data-source-validator";

interface Flag {
  readonly type: "string" | "boolean";
  readonly help: string;
  readonly default?: string;
}

const FLAGS: Readonly<Record<string, Flag>> = {
  kubeconfig: { type: "string", help: "Path to a kubeconfig; only needed out of cluster" },
  "worker-threads": {
    type: "string",
    help: "Number of worker threads",
    default: `${DEFAULT_WORKER_THREADS}`,
  },
  "resync-period": {
    type: "string",
    help: "How often every PVC is validated again; 0 turns it off",
    default: `${DEFAULT_RESYNC_PERIOD_MS / 1000}s`,
  },
  "leader-election": { type: "boolean", help: "Enables leader election" },
  "leader-election-namespace": {
    type: "string",
    help: "Namespace of the leader election Lease (default: the namespace the validator runs in)",
  },
  "leader-election-lease-duration": {
    type: "string",
    help: "How long non-leaders wait before trying to take over leadership",
    default: "15s",
  },
  "leader-election-renew-deadline": {
    type: "string",
    help: "How long the leader retries renewing before giving up leadership",
    default: "10s",
  },
  "leader-election-retry-period": {
    type: "string",
    help: "Wait between attempts to acquire or renew leadership",
    default: "5s",
  },
  "http-endpoint": {
    type: "string",
    help: 'Address of the metrics and health server, e.g. ":8080"; empty turns it off',
  },
  "metrics-path": { type: "string", help: "HTTP path of the metrics", default: "/metrics" },
  "log-level": { type: "string", help: `Minimum log level: ${LOG_LEVELS.join(", ")}`, default: "info" },
  v: { type: "string", help: "klog verbosity, for upstream manifests: 4 or more logs at debug level" },
  "watch-namespace": {
    type: "string",
    help: "Validate the PVCs of this namespace only (default: every namespace)",
  },
  "webhook-port": {
    type: "string",
    help: "HTTPS port of the admission webhook that warns at apply time; 0 turns it off",
    default: "0",
  },
  "webhook-service": {
    type: "string",
    help: "Service through which the API server calls the webhook; its certificate names <service>.<namespace>.svc",
    default: DEFAULT_WEBHOOK_SERVICE,
  },
  "webhook-namespace": {
    type: "string",
    help: "Namespace of the webhook's Service and Secret (default: the namespace the validator runs in)",
  },
  "webhook-configuration-name": {
    type: "string",
    help: "ValidatingWebhookConfiguration whose caBundle the validator sets",
    default: DEFAULT_WEBHOOK_CONFIGURATION,
  },
  "webhook-secret": {
    type: "string",
    help: "Secret in the webhook's namespace that keeps its CA and serving certificate",
    default: DEFAULT_WEBHOOK_SECRET,
  },
  version: { type: "boolean", help: "Print the version and exit" },
  help: { type: "boolean", help: "Print this help and exit" },
};

// client-go refuses a renew deadline within this factor of the retry period (leaderelection.JitterFactor).
const JITTER_FACTOR = 1.2;

/** The `--help` text. */
export function usageText(version: string): string {
  const lines = [
    `Usage: ${PROGRAM_NAME} [flags]`,
    "",
    `${PROGRAM_NAME} ${version}: warns, with an event, about PVCs whose dataSourceRef names a kind no`,
    "VolumePopulator registers; with --webhook-port, also at apply time through an admission webhook.",
    "Flags (also as -flag, -flag value or -flag=value):",
    "",
  ];
  for (const [name, flag] of Object.entries(FLAGS)) {
    const value = flag.type === "string" ? " value" : "";
    const shown = flag.default === undefined ? "" : ` (default ${flag.default})`;
    lines.push(`  --${name}${value}`, `      ${flag.help}${shown}`);
  }
  return `${lines.join("\n")}\n`;
}

/**
 * Parses the validator's command line. Accepts what Go's `flag` package accepts: `--flag=value`,
 * `--flag value`, `-flag=value`, `-flag value`, booleans as `--flag` or `--flag=false`, the last of
 * repeated flags winning. Throws a `CliUsageError` (with the help text) for an unknown flag, a
 * stray argument or a bad value.
 */
export function parseValidatorArgs(argv: readonly string[], version: string): ValidatorCliResult {
  const usage = usageText(version);
  const fail = (message: string): never => {
    throw new CliUsageError(message, usage);
  };
  const given = new Map<string, string | boolean>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") {
      if (i + 1 < argv.length) fail(`unexpected argument ${JSON.stringify(argv[i + 1])}`);
      break;
    }
    if (!arg.startsWith("-") || arg === "-") fail(`unexpected argument ${JSON.stringify(arg)}`);
    const body = arg.slice(arg.startsWith("--") ? 2 : 1);
    const eq = body.indexOf("=");
    const name = eq === -1 ? body : body.slice(0, eq);
    const inline = eq === -1 ? undefined : body.slice(eq + 1);
    if (name === "h" || name === "help") return { action: "help", text: usage };
    const flag = FLAGS[name];
    if (name === "" || name.startsWith("-")) fail(`bad flag syntax: ${arg}`);
    if (flag === undefined) fail(`unknown flag ${JSON.stringify(`--${name}`)}; see --help`);
    if (flag?.type === "boolean") {
      given.set(name, inline === undefined ? true : parseGoBool(inline, arg, fail));
    } else if (inline !== undefined) {
      given.set(name, inline);
    } else {
      const next = argv[i + 1];
      if (next === undefined) fail(`flag --${name} needs a value`);
      given.set(name, next as string);
      i++;
    }
  }
  if (given.get("version") === true) return { action: "version", text: `${PROGRAM_NAME} ${version}` };

  const str = (name: string): string => {
    const value = given.get(name);
    return typeof value === "string" ? value : (FLAGS[name]?.default ?? "");
  };
  const duration = (name: string, allowZero: boolean): number => {
    let ms = Number.NaN;
    try {
      ms = parseGoDuration(str(name));
    } catch (error) {
      fail(`--${name}: ${(error as Error).message}`);
    }
    if (ms < 0 || (!allowZero && ms === 0)) {
      fail(`invalid --${name} ${JSON.stringify(str(name))}: must be ${allowZero ? "0 or more" : "positive"}`);
    }
    return ms;
  };

  const workersText = str("worker-threads");
  const workerThreads = Number(workersText);
  if (!/^\d+$/.test(workersText) || !Number.isSafeInteger(workerThreads) || workerThreads < 1) {
    fail(`invalid --worker-threads ${JSON.stringify(workersText)}: must be a whole number of at least 1`);
  }

  const httpEndpoint = str("http-endpoint") || undefined;
  if (httpEndpoint !== undefined) {
    try {
      parseListenAddress(httpEndpoint);
    } catch (error) {
      fail(`--http-endpoint: ${(error as Error).message}`);
    }
  }
  const metricsPath = str("metrics-path");
  if (!metricsPath.startsWith("/"))
    fail(`invalid --metrics-path ${JSON.stringify(metricsPath)}: must start with "/"`);

  let logLevel = str("log-level");
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    fail(`invalid --log-level ${JSON.stringify(logLevel)}: must be one of ${LOG_LEVELS.join(", ")}`);
  }
  if (given.has("v")) {
    const verbosity = str("v");
    if (!/^\d+$/.test(verbosity)) fail(`invalid --v ${JSON.stringify(verbosity)}: must be a whole number`);
    if (!given.has("log-level") && Number(verbosity) >= 4) logLevel = "debug";
  }

  const dnsLabel = (name: string, what: string): string | undefined => {
    const value = str(name) || undefined;
    if (value !== undefined && !DNS_LABEL.test(value)) {
      fail(`invalid --${name} ${JSON.stringify(value)}: must be a ${what}`);
    }
    return value;
  };
  const dnsSubdomain = (name: string): string => {
    const value = str(name);
    if (value.length > 253 || !DNS_SUBDOMAIN.test(value)) {
      fail(
        `invalid --${name} ${JSON.stringify(value)}: must be a DNS subdomain (lowercase letters, digits, "-" and ".")`,
      );
    }
    return value;
  };
  const portText = str("webhook-port");
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) {
    fail(`invalid --webhook-port ${JSON.stringify(portText)}: must be a port from 1 to 65535, or 0 for off`);
  }
  const webhook: ValidatorWebhookOptions = {
    port: port === 0 ? undefined : port,
    service:
      dnsLabel("webhook-service", 'Service name (lowercase letters, digits and "-", at most 63)') ?? "",
    namespace: dnsLabel(
      "webhook-namespace",
      'namespace name (lowercase letters, digits and "-", at most 63)',
    ),
    configurationName: dnsSubdomain("webhook-configuration-name"),
    secretName: dnsSubdomain("webhook-secret"),
  };
  if (webhook.service === "") fail("--webhook-service must not be empty");
  const watchNamespace = dnsLabel(
    "watch-namespace",
    'namespace name (lowercase letters, digits and "-", at most 63)',
  );

  const enabled = given.get("leader-election") === true;
  const leaderElection: ValidatorLeaderElection = {
    enabled,
    namespace: str("leader-election-namespace") || undefined,
    leaseDurationMs: duration("leader-election-lease-duration", false),
    renewDeadlineMs: duration("leader-election-renew-deadline", false),
    retryPeriodMs: duration("leader-election-retry-period", false),
  };
  // client-go checks these only when it runs an election; so do we.
  if (enabled && leaderElection.leaseDurationMs <= leaderElection.renewDeadlineMs) {
    fail("--leader-election-lease-duration must be greater than --leader-election-renew-deadline");
  }
  if (enabled && leaderElection.renewDeadlineMs <= JITTER_FACTOR * leaderElection.retryPeriodMs) {
    fail(
      `--leader-election-renew-deadline must be greater than ${JITTER_FACTOR} × --leader-election-retry-period`,
    );
  }

  return {
    action: "run",
    options: {
      kubeconfig: str("kubeconfig") || undefined,
      workerThreads,
      resyncPeriodMs: duration("resync-period", true),
      leaderElection,
      httpEndpoint,
      metricsPath,
      logLevel: logLevel as LogLevel,
      watchNamespace,
      webhook,
    },
  };
}

// Kubernetes' DNS-1123 label (namespaces, Services) and subdomain (most other names).
const DNS_LABEL = /^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

// The spellings Go's strconv.ParseBool accepts.
const GO_TRUE = new Set(["1", "t", "T", "true", "TRUE", "True"]);
const GO_FALSE = new Set(["0", "f", "F", "false", "FALSE", "False"]);

function parseGoBool(value: string, arg: string, fail: (message: string) => never): boolean {
  if (GO_TRUE.has(value)) return true;
  if (GO_FALSE.has(value)) return false;
  return fail(`invalid boolean in ${arg}: use true or false`);
}
