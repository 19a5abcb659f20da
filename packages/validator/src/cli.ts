/**
 * The validator's command line: upstream's flags, spelled and defaulted as upstream's binary does,
 * read the way Go's `flag` package reads them so that upstream manifests work unchanged.
 */
import type { LogLevel } from "@volpop/sdk";
import {
  defineFlags,
  type FlagCommand,
  flagUsage,
  httpEndpointFlags,
  kubeconfigFlags,
  leaderElectionCheck,
  leaderElectionFlags,
  loggingFlags,
  logLevelOf,
  parseFlags,
} from "@volpop/sdk/runtime";
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

// Kubernetes' DNS-1123 label (namespaces, Services) and subdomain (most other names).
const DNS_LABEL = /^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const NAMESPACE_NAME = 'namespace name (lowercase letters, digits and "-", at most 63)';

// Empty means "not set" for these flags; anything else must be a name Kubernetes accepts.
const dnsLabel = (what: string) => (value: string) =>
  value === "" || DNS_LABEL.test(value) ? undefined : `must be a ${what}`;
const dnsSubdomain = (value: string) =>
  value.length <= 253 && DNS_SUBDOMAIN.test(value)
    ? undefined
    : 'must be a DNS subdomain (lowercase letters, digits, "-" and ".")';

const VALIDATOR_FLAGS = defineFlags({
  ...kubeconfigFlags(),
  "worker-threads": {
    type: "int",
    min: 1,
    default: DEFAULT_WORKER_THREADS,
    description: "Number of worker threads",
  },
  "resync-period": {
    type: "duration",
    default: DEFAULT_RESYNC_PERIOD_MS,
    description: "How often every PVC is validated again; 0 turns it off",
    validate: (ms) => (ms >= 0 ? undefined : "must be 0 or more"),
  },
  ...leaderElectionFlags({ namespaceDefault: "the namespace the validator runs in" }),
  ...httpEndpointFlags(),
  ...loggingFlags({ klogVerbosity: true }),
  "watch-namespace": {
    type: "string",
    description: "Validate the PVCs of this namespace only (default: every namespace)",
    validate: dnsLabel(NAMESPACE_NAME),
  },
  "webhook-port": {
    type: "int",
    default: 0,
    description: "HTTPS port of the admission webhook that warns at apply time; 0 turns it off",
    validate: (port) =>
      port >= 0 && port <= 65535 ? undefined : "must be a port from 1 to 65535, or 0 for off",
  },
  "webhook-service": {
    type: "string",
    default: DEFAULT_WEBHOOK_SERVICE,
    description:
      "Service through which the API server calls the webhook; its certificate names <service>.<namespace>.svc",
    validate: dnsLabel('Service name (lowercase letters, digits and "-", at most 63)'),
  },
  "webhook-namespace": {
    type: "string",
    description:
      "Namespace of the webhook's Service and Secret (default: the namespace the validator runs in)",
    validate: dnsLabel(NAMESPACE_NAME),
  },
  "webhook-configuration-name": {
    type: "string",
    default: DEFAULT_WEBHOOK_CONFIGURATION,
    description: "ValidatingWebhookConfiguration whose caBundle the validator sets",
    validate: dnsSubdomain,
  },
  "webhook-secret": {
    type: "string",
    default: DEFAULT_WEBHOOK_SECRET,
    description: "Secret in the webhook's namespace that keeps its CA and serving certificate",
    validate: dnsSubdomain,
  },
});

/** The validator's command line as the flag library declares it; also read by the docs site's flags reference. */
export function validatorCommand(version: string): FlagCommand<typeof VALIDATOR_FLAGS> {
  return {
    program: PROGRAM_NAME,
    synopsis: "[flags]",
    about: [
      `${PROGRAM_NAME} ${version}: warns, with an event, about PVCs whose dataSourceRef names a kind no`,
      "VolumePopulator registers; with --webhook-port, also at apply time through an admission webhook.",
    ].join("\n"),
    version,
    flags: VALIDATOR_FLAGS,
    checks: [
      leaderElectionCheck,
      (values) => (values["webhook-service"] === "" ? "--webhook-service must not be empty" : undefined),
    ],
  };
}

/** The `--help` text. */
export function usageText(version: string): string {
  return flagUsage(validatorCommand(version));
}

/**
 * Parses the validator's command line. Accepts what Go's `flag` package accepts (see the SDK's
 * `parseFlags`): `--flag=value`, `--flag value`, `-flag=value`, `-flag value`, booleans as
 * `--flag` or `--flag=false`, the last of repeated flags winning. Throws a `CliUsageError` (with
 * the help text) for an unknown flag, a stray argument or a bad value.
 */
export function parseValidatorArgs(argv: readonly string[], version: string): ValidatorCliResult {
  const parsed = parseFlags(argv, validatorCommand(version));
  if (parsed.action !== "run") return parsed;
  const { values } = parsed;
  return {
    action: "run",
    options: {
      kubeconfig: values.kubeconfig || undefined,
      workerThreads: values["worker-threads"],
      resyncPeriodMs: values["resync-period"],
      leaderElection: {
        enabled: values["leader-election"],
        namespace: values["leader-election-namespace"] || undefined,
        leaseDurationMs: values["leader-election-lease-duration"],
        renewDeadlineMs: values["leader-election-renew-deadline"],
        retryPeriodMs: values["leader-election-retry-period"],
      },
      httpEndpoint: values["http-endpoint"] || undefined,
      metricsPath: values["metrics-path"],
      logLevel: logLevelOf(values),
      watchNamespace: values["watch-namespace"] || undefined,
      webhook: {
        port: values["webhook-port"] || undefined, // 0: off
        service: values["webhook-service"],
        namespace: values["webhook-namespace"] || undefined,
        configurationName: values["webhook-configuration-name"],
        secretName: values["webhook-secret"],
      },
    },
  };
}
