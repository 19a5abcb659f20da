import type { ParseArgsOptionDescriptor } from "node:util";
import type { FlagCheck, FlagCommand } from "./flags/command.ts";
import { defineFlags, type FlagDeclaration, type FlagDeclarations } from "./flags/declaration.ts";
import { httpEndpointFlags } from "./flags/groups/http-endpoint.ts";
import { kubeconfigFlags } from "./flags/groups/kubeconfig.ts";
import { leaderElectionCheck, leaderElectionFlags } from "./flags/groups/leader-election.ts";
import { loggingFlags, logLevelOf } from "./flags/groups/logging.ts";
import { parseFlags } from "./flags/parse.ts";
import type { LogLevel } from "./logger.ts";
import { DEFAULT_WORKERS } from "./settings.ts";
import { type BackendEndpoint, parseEndpoint } from "./strategies/csi-fastpath/endpoint.ts";

// Their homes are the flag library and the settings now; importers of this module keep finding them.
export { CliUsageError, parseGoDuration } from "./flags/index.ts";
export { DEFAULT_WORKERS } from "./settings.ts";

/** What the binary does: run the controller, or (inside the populator pod) write the data. */
export type PopulatorMode = "controller" | "populate";

const MODES: readonly PopulatorMode[] = ["controller", "populate"];

/** Leader election settings; the durations are client-go's and the CSI sidecars' defaults. */
export interface LeaderElectionOptions {
  /** Whether to take part in leader election before running the controller. */
  enabled: boolean;
  /** Namespace of the Lease; defaults to `--namespace`, where the controller runs. */
  namespace: string;
  /** How long a Lease is valid without renewal (`--leader-election-lease-duration`, 15s). */
  leaseDurationMs: number;
  /** How long the leader keeps trying to renew before giving up leadership (`--leader-election-renew-deadline`, 10s). */
  renewDeadlineMs: number;
  /** Wait between attempts to acquire or renew (`--leader-election-retry-period`, 5s). */
  retryPeriodMs: number;
}

/** The parsed command line of a populator binary, flag by flag. */
export interface PopulatorCliOptions<Extra = Record<never, never>> {
  /** `--mode` (required). */
  mode: PopulatorMode;
  /** `--kubeconfig`: path to a kubeconfig; unset in-cluster. */
  kubeconfig: string | undefined;
  /** `--master`: API server address, overriding the kubeconfig's. */
  master: string | undefined;
  /** `--image-name`: image of the populator pod; defaults to `defaults.imageName`. */
  imageName: string | undefined;
  /** `--http-endpoint` for metrics and health; `undefined` (the default, or an empty value) turns the server off. */
  httpEndpoint: string | undefined;
  /** `--metrics-path`, default `/metrics`. */
  metricsPath: string;
  /** `--namespace`: where the controller works (PVC' and pods); defaults to `defaults.namespace`. */
  namespace: string;
  /** `--workers`: reconciles run in parallel. */
  workers: number;
  /** `--leader-election*`. */
  leaderElection: LeaderElectionOptions;
  /** `--log-level`, default `info`. */
  logLevel: LogLevel;
  /** `--fastpath-*`: CSI fast-path backends; none means the Pod strategy only. */
  fastPath: FastPathCliOptions;
  /** Values of the populator's own flags (see {@link parsePopulatorArgs}'s `extra`). */
  extra: Extra;
  /** Arguments after `--`, untouched. */
  rest: string[];
}

/** The CSI fast path as the command line configures it. */
export interface FastPathCliOptions {
  /** `--fastpath-endpoint`: comma-separated backend endpoints, tried in order. */
  endpoints: BackendEndpoint[];
  /** `--fastpath-tls-dir`: a mounted Secret with `ca.crt`, `tls.crt`, `tls.key`, for TCP endpoints. */
  tlsDir: string | undefined;
  /** `--fastpath-fallback`: `pod` (default) or `fail` when no backend can take a population. */
  fallback: "pod" | "fail";
}

/** Defaults a populator binary supplies. */
export interface PopulatorCliDefaults {
  /** Default `--namespace` (upstream's hello example: `hello`). */
  namespace: string;
  /** Default `--image-name`. */
  imageName?: string;
  /** Printed by `--version`. */
  version: string;
  /** The populator's prefix (e.g. `hello.example.com`), named in the help text. */
  prefix?: string;
  /** Program name in the help and version text. Default `populator`. */
  programName?: string;
}

/** A populator-specific flag: a `parseArgs` option plus a line for the help text. */
export interface ExtraOption extends ParseArgsOptionDescriptor {
  /** Shown in `--help`. */
  description?: string;
}

/** Populator-specific flags by long name, e.g. `{ "file-name": { type: "string" } }`. */
export type ExtraOptions = Record<string, ExtraOption>;

type ExtraValue<O extends ExtraOption> = O["type"] extends "string" ? string : boolean;

/** The `extra` values for an {@link ExtraOptions} spec: `undefined` when the flag is absent and has no default. */
export type ExtraValues<E extends ExtraOptions> = {
  -readonly [K in keyof E]:
    | (E[K]["multiple"] extends true ? ExtraValue<E[K]>[] : ExtraValue<E[K]>)
    | (E[K]["default"] extends string | boolean | string[] | boolean[] ? never : undefined);
};

/** What the binary should do, from {@link parsePopulatorArgs}. */
export type CliParseResult<Extra = Record<never, never>> =
  | { action: "run"; options: PopulatorCliOptions<Extra> }
  | { action: "version"; version: string; text: string }
  | { action: "help"; text: string };

function populatorFlags(defaults: PopulatorCliDefaults) {
  return defineFlags({
    mode: {
      type: "enum",
      values: MODES,
      required: true,
      description: "What to run: controller or populate (required)",
    },
    ...kubeconfigFlags({ master: true }),
    // An empty --image-name or --namespace means the default too: shown here, applied when read.
    "image-name": {
      type: "string",
      description: "Image of the populator pod",
      ...(defaults.imageName === undefined ? {} : { shownDefault: defaults.imageName }),
    },
    ...httpEndpointFlags(),
    namespace: {
      type: "string",
      shownDefault: defaults.namespace,
      description: "Namespace the controller works in",
    },
    workers: { type: "int", min: 1, default: DEFAULT_WORKERS, description: "PVCs reconciled in parallel" },
    ...leaderElectionFlags({ namespaceDefault: "--namespace" }),
    "fastpath-endpoint": {
      type: "string",
      description:
        "CSI fast-path backends, comma-separated: unix:///path/to.sock or host:port (mutual TLS); empty: Pod strategy only",
      validate: (text) => {
        endpointList(text); // throws, naming the endpoint
        return undefined;
      },
    },
    "fastpath-tls-dir": {
      type: "string",
      description: "Directory with ca.crt, tls.crt and tls.key for TCP fast-path backends (a mounted Secret)",
    },
    "fastpath-fallback": {
      type: "string",
      default: "pod",
      description: "When no fast-path backend can take a population: pod or fail",
      validate: (fallback) => (fallback === "pod" || fallback === "fail" ? undefined : "must be pod or fail"),
    },
    ...loggingFlags(),
  });
}

type PopulatorFlags = ReturnType<typeof populatorFlags>;

const fastPathCheck: FlagCheck<PopulatorFlags> = (values) =>
  endpointList(values["fastpath-endpoint"] ?? "").some((e) => e.transport === "tcp") &&
  !values["fastpath-tls-dir"]
    ? "--fastpath-endpoint names a TCP backend: give --fastpath-tls-dir (mutual TLS) too"
    : undefined;

function endpointList(text: string): BackendEndpoint[] {
  return text
    .split(",")
    .filter((e) => e.trim() !== "")
    .map(parseEndpoint);
}

/**
 * Parses a populator binary's command line with the flags of upstream lib-volume-populator's
 * example (`--mode`, `--kubeconfig`, `--master`, `--image-name`, `--http-endpoint`,
 * `--metrics-path`, `--namespace`, `--version`), the data source validator's leader election
 * flags, `--workers`, `--log-level` and the fast-path flags, plus the populator's own `extra`
 * flags, listed under "Populator flags" in the help.
 *
 * Accepts what Go's `flag` package accepts (see `parseFlags`), so manifests written for upstream
 * keep working. Arguments after `--` are returned in `rest`; an unknown flag or a stray argument
 * before it is an error.
 *
 * Throws a {@link CliUsageError} for anything wrong on the command line, and a `TypeError` if
 * `extra` redefines a built-in flag.
 */
export function parsePopulatorArgs<const E extends ExtraOptions = Record<never, never>>(
  argv: readonly string[],
  defaults: PopulatorCliDefaults,
  extra?: E,
): CliParseResult<ExtraValues<E>> {
  const command = populatorCommand(defaults, extra);
  const own = Object.keys(extra ?? {});
  const parsed = parseFlags(argv, command);
  if (parsed.action === "help") return parsed;
  if (parsed.action === "version") return { ...parsed, version: defaults.version };

  const { values, rest } = parsed;
  const namespace = values.namespace || defaults.namespace;
  const extraValues: Record<string, unknown> = {};
  for (const name of own) extraValues[name] = (values as Record<string, unknown>)[name];
  return {
    action: "run",
    options: {
      mode: values.mode,
      kubeconfig: values.kubeconfig || undefined,
      master: values.master || undefined,
      imageName: values["image-name"] || defaults.imageName,
      httpEndpoint: values["http-endpoint"] || undefined,
      metricsPath: values["metrics-path"],
      namespace,
      workers: values.workers,
      leaderElection: {
        enabled: values["leader-election"],
        namespace: values["leader-election-namespace"] || namespace,
        leaseDurationMs: values["leader-election-lease-duration"],
        renewDeadlineMs: values["leader-election-renew-deadline"],
        retryPeriodMs: values["leader-election-retry-period"],
      },
      logLevel: logLevelOf(values),
      fastPath: {
        endpoints: endpointList(values["fastpath-endpoint"] ?? ""),
        tlsDir: values["fastpath-tls-dir"] || undefined,
        fallback: values["fastpath-fallback"] === "fail" ? "fail" : "pod",
      },
      extra: extraValues as ExtraValues<E>,
      rest,
    },
  };
}

/**
 * A populator binary's command line as the flag library declares it: the built-in flags (see
 * {@link parsePopulatorArgs}) and the populator's own `extra` ones, with the help text's wording.
 * Also read by the docs site's flags reference. Throws a `TypeError` if `extra` redefines a
 * built-in flag.
 */
export function populatorCommand(
  defaults: PopulatorCliDefaults,
  extra: ExtraOptions = {},
): FlagCommand<PopulatorFlags> {
  const builtin = populatorFlags(defaults);
  return {
    program: defaults.programName ?? "populator",
    synopsis: "--mode=controller|populate [flags] [-- args]",
    about: `${defaults.prefix === undefined ? "Volume populator" : `Volume populator for ${defaults.prefix}`}, version ${defaults.version}.`,
    version: defaults.version,
    // Typed by the built-in flags: parsePopulatorArgs types the populator's own by ExtraValues<E>.
    flags: { ...builtin, ...extraFlags(extra, builtin) } as PopulatorFlags,
    checks: [leaderElectionCheck, fastPathCheck],
    args: 'arguments for the populator go after "--"',
  };
}

// A populator's own flags, in the library's terms, in a help section of their own.
function extraFlags(extra: ExtraOptions, builtin: FlagDeclarations): FlagDeclarations {
  const flags: Record<string, FlagDeclaration> = {};
  for (const [name, option] of Object.entries(extra)) {
    if (Object.hasOwn(builtin, name))
      throw new TypeError(`extra flag --${name} clashes with a built-in flag`);
    // parseArgs' descriptor allows any default for either type; populators give matching ones.
    flags[name] = {
      type: option.type,
      description: option.description ?? "",
      section: "Populator flags",
      ...(option.short === undefined ? {} : { short: option.short }),
      ...(option.multiple ? { multiple: true } : {}),
      ...(option.default === undefined ? {} : { default: option.default }),
    } as FlagDeclaration;
  }
  return flags;
}
