import { type ParseArgsOptionDescriptor, type ParseArgsOptionsConfig, parseArgs } from "node:util";
import { VolpopError } from "./errors.ts";
import { type BackendEndpoint, parseEndpoint } from "./fastpath/endpoint.ts";
import { parseListenAddress } from "./http-server.ts";
import { LOG_LEVELS, type LogLevel } from "./logger.ts";

/** What the binary does: run the controller, or (inside the populator pod) write the data. */
export type PopulatorMode = "controller" | "populate";

const MODES: readonly PopulatorMode[] = ["controller", "populate"];

/**
 * Default `--workers`. Upstream's populator runs a single worker; its sibling controller, the
 * data source validator, defaults `--worker-threads` to 10. The queue never hands one PVC to two
 * workers, so parallelism is safe, and 10 keeps a burst of new PVCs from queueing behind one
 * slow API call without flooding the API server.
 */
export const DEFAULT_WORKERS = 10;

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

/** The command line is wrong; `message` says how and `usage` is the help text to print after it. */
export class CliUsageError extends VolpopError {
  override name = "CliUsageError";

  /** The full help text. */
  readonly usage: string;

  /** Creates a USAGE error. */
  constructor(message: string, usage: string) {
    super("USAGE", message);
    this.usage = usage;
  }
}

interface BuiltinFlag {
  type: "string" | "boolean";
  description: string;
  // Shown in the help text; the real defaults are applied in toOptions.
  shownDefault?: string;
}

const BUILTIN_FLAGS: Record<string, BuiltinFlag> = {
  mode: { type: "string", description: "What to run: controller or populate (required)" },
  kubeconfig: { type: "string", description: "Path to a kubeconfig; only needed out of cluster" },
  master: { type: "string", description: "Address of the Kubernetes API server; overrides the kubeconfig" },
  "image-name": { type: "string", description: "Image of the populator pod" },
  "http-endpoint": {
    type: "string",
    description: 'Address for the metrics and health server, e.g. ":8080"; empty turns it off',
  },
  "metrics-path": { type: "string", description: "HTTP path of the metrics", shownDefault: "/metrics" },
  namespace: { type: "string", description: "Namespace the controller works in" },
  workers: { type: "string", description: "PVCs reconciled in parallel", shownDefault: `${DEFAULT_WORKERS}` },
  "leader-election": { type: "boolean", description: "Run only while holding the leader election Lease" },
  "leader-election-namespace": {
    type: "string",
    description: "Namespace of the leader election Lease (default: --namespace)",
  },
  "leader-election-lease-duration": {
    type: "string",
    description: "How long a non-leader waits before trying to take over",
    shownDefault: "15s",
  },
  "leader-election-renew-deadline": {
    type: "string",
    description: "How long the leader retries renewing before giving up leadership",
    shownDefault: "10s",
  },
  "leader-election-retry-period": {
    type: "string",
    description: "Wait between attempts to acquire or renew the Lease",
    shownDefault: "5s",
  },
  "fastpath-endpoint": {
    type: "string",
    description:
      "CSI fast-path backends, comma-separated: unix:///path/to.sock or host:port (mutual TLS); empty: Pod strategy only",
  },
  "fastpath-tls-dir": {
    type: "string",
    description: "Directory with ca.crt, tls.crt and tls.key for TCP fast-path backends (a mounted Secret)",
  },
  "fastpath-fallback": {
    type: "string",
    description: "When no fast-path backend can take a population: pod or fail",
    shownDefault: "pod",
  },
  "log-level": {
    type: "string",
    description: `Minimum log level: ${LOG_LEVELS.join(", ")}`,
    shownDefault: "info",
  },
  version: { type: "boolean", description: "Print the version and exit" },
  help: { type: "boolean", description: "Print this help and exit" },
};

// client-go refuses a renew deadline within this factor of the retry period (leaderelection.JitterFactor).
const LEADER_ELECTION_JITTER = 1.2;

/**
 * Parses a populator binary's command line with the flags of upstream lib-volume-populator's
 * example (`--mode`, `--kubeconfig`, `--master`, `--image-name`, `--http-endpoint`,
 * `--metrics-path`, `--namespace`, `--version`), the data source validator's leader election
 * flags, `--workers` and `--log-level`, plus the populator's own `extra` flags.
 *
 * Accepts what Go's `flag` package accepts, so manifests written for upstream keep working:
 * `--flag=value`, `--flag value`, `-flag=value`, `-flag value`, and booleans as `--flag` or
 * `--flag=false`. Arguments after `--` are returned in `rest`; an unknown flag or a stray
 * argument before it is an error. Built on `node:util` `parseArgs` (no dependency) behind a
 * small normaliser that rewrites the Go forms `parseArgs` does not know.
 *
 * Throws a {@link CliUsageError} for anything wrong on the command line, and a `TypeError` if
 * `extra` redefines a built-in flag.
 */
export function parsePopulatorArgs<const E extends ExtraOptions = Record<never, never>>(
  argv: readonly string[],
  defaults: PopulatorCliDefaults,
  extra?: E,
): CliParseResult<ExtraValues<E>> {
  const extraSpec: ExtraOptions = extra ?? {};
  const usage = usageText(defaults, extraSpec);
  const flags = flagTable(extraSpec);
  const fail = (message: string): never => {
    throw new CliUsageError(message, usage);
  };

  const normalised = normalise(argv, flags, fail);
  if (normalised === "help") return { action: "help", text: usage };

  const options: ParseArgsOptionsConfig = {};
  for (const [name, flag] of flags.byName) {
    const descriptor: ParseArgsOptionDescriptor = { type: flag.type };
    if (flag.multiple) descriptor.multiple = true;
    if (flag.default !== undefined) descriptor.default = flag.default;
    options[name] = descriptor;
  }
  const { values } = parseArgs({ args: normalised.args, options, strict: true, allowNegative: true });
  const read = values as Record<string, string | boolean | (string | boolean)[] | undefined>;

  if (read.version === true) {
    const program = defaults.programName ?? "populator";
    return { action: "version", version: defaults.version, text: `${program} ${defaults.version}` };
  }
  const extraValues: Record<string, unknown> = {};
  for (const name of Object.keys(extraSpec)) extraValues[name] = read[name];
  return {
    action: "run",
    options: toOptions(read, defaults, extraValues as ExtraValues<E>, normalised.rest, fail),
  };
}

/**
 * Parses a Go duration string (`300ms`, `1.5h`, `1m30s`, `-2s`; units ns, us, µs, ms, s, m, h)
 * into milliseconds, as Go's `time.ParseDuration`. Throws a `RangeError` saying what is wrong.
 */
export function parseGoDuration(value: string): number {
  const problem = (why: string) => new RangeError(`invalid duration ${JSON.stringify(value)}: ${why}`);
  let rest = value;
  let sign = 1;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    sign = rest.startsWith("-") ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === "0") return 0;
  if (rest === "") throw problem('expected a number and a unit, e.g. "15s", "1m30s" or "500ms"');
  let total = 0;
  while (rest !== "") {
    const part = /^(\d*)(?:\.(\d*))?([^\d.]*)/.exec(rest);
    const [whole = "", int = "", frac = "", unit = ""] = part ?? [];
    if (int === "" && frac === "") throw problem(`expected a number at ${JSON.stringify(rest)}`);
    if (unit === "" && whole.length < rest.length) {
      throw problem(`unexpected ${JSON.stringify(rest.slice(whole.length))}`);
    }
    if (unit === "") throw problem('missing unit (use one of ns, us, ms, s, m, h, e.g. "15s")');
    const scale = DURATION_UNITS_MS[unit];
    if (scale === undefined) {
      throw problem(`unknown unit ${JSON.stringify(unit)} (use ns, us, ms, s, m or h)`);
    }
    total += Number(`${int || "0"}.${frac || "0"}`) * scale;
    rest = rest.slice(whole.length);
  }
  return sign * total;
}

const DURATION_UNITS_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3, // U+00B5 micro sign
  μs: 1e-3, // U+03BC Greek mu
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

interface FlagInfo {
  type: "string" | "boolean";
  multiple: boolean;
  default: ParseArgsOptionDescriptor["default"];
}

interface FlagTable {
  byName: Map<string, FlagInfo>;
  byShort: Map<string, string>;
}

function flagTable(extra: ExtraOptions): FlagTable {
  const byName = new Map<string, FlagInfo>();
  for (const [name, flag] of Object.entries(BUILTIN_FLAGS)) {
    byName.set(name, { type: flag.type, multiple: false, default: undefined });
  }
  const byShort = new Map<string, string>([["h", "help"]]);
  for (const [name, option] of Object.entries(extra)) {
    if (byName.has(name)) throw new TypeError(`extra flag --${name} clashes with a built-in flag`);
    byName.set(name, { type: option.type, multiple: option.multiple ?? false, default: option.default });
    if (option.short !== undefined) {
      if (byShort.has(option.short)) {
        throw new TypeError(`extra flag --${name}: short -${option.short} is taken`);
      }
      byShort.set(option.short, name);
    }
  }
  return { byName, byShort };
}

/**
 * Rewrites Go-style arguments into the one form `parseArgs` reads unambiguously: `--name=value`
 * for strings, `--name` / `--no-name` for booleans. It knows which flags take a value, so
 * `--image-name -x` keeps `-x` as the value, as Go's flag package does.
 */
function normalise(
  argv: readonly string[],
  flags: FlagTable,
  fail: (message: string) => never,
): { args: string[]; rest: string[] } | "help" {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") return { args, rest: argv.slice(i + 1) };
    if (!arg.startsWith("-") || arg === "-") {
      fail(`unexpected argument ${JSON.stringify(arg)}; arguments for the populator go after "--"`);
    }
    const body = arg.slice(arg.startsWith("--") ? 2 : 1);
    const eq = body.indexOf("=");
    const given = eq === -1 ? body : body.slice(0, eq);
    const inline = eq === -1 ? undefined : body.slice(eq + 1);
    // Go treats -name and --name alike; a lone letter may also be a short alias.
    const name = (given.length === 1 ? flags.byShort.get(given) : undefined) ?? given;
    const flag = flags.byName.get(name);
    if (name === "" || name.startsWith("-")) fail(`bad flag syntax: ${arg}`);
    if (flag === undefined) fail(`unknown flag ${JSON.stringify(`--${given}`)}; see --help`);
    if (name === "help") return "help";
    if (flag?.type === "boolean") {
      args.push(inline === undefined || parseGoBool(inline, arg, fail) ? `--${name}` : `--no-${name}`);
      continue;
    }
    if (inline !== undefined) {
      args.push(`--${name}=${inline}`);
      continue;
    }
    const next = argv[i + 1];
    if (next === undefined) fail(`flag --${name} needs a value`);
    args.push(`--${name}=${next}`);
    i++;
  }
  return { args, rest: [] };
}

// The spellings Go's strconv.ParseBool accepts.
const GO_TRUE = new Set(["1", "t", "T", "true", "TRUE", "True"]);
const GO_FALSE = new Set(["0", "f", "F", "false", "FALSE", "False"]);

function parseGoBool(value: string, arg: string, fail: (message: string) => never): boolean {
  if (GO_TRUE.has(value)) return true;
  if (GO_FALSE.has(value)) return false;
  return fail(`invalid boolean in ${arg}: use true or false`);
}

function toOptions<Extra>(
  values: Record<string, string | boolean | (string | boolean)[] | undefined>,
  defaults: PopulatorCliDefaults,
  extra: Extra,
  rest: string[],
  fail: (message: string) => never,
): PopulatorCliOptions<Extra> {
  const str = (name: string): string | undefined => {
    const value = values[name];
    return typeof value === "string" ? value : undefined;
  };

  const mode = str("mode");
  if (mode === undefined) fail(`--mode is required: one of ${MODES.join(", ")}`);
  if (!MODES.includes(mode as PopulatorMode)) {
    fail(`invalid --mode ${JSON.stringify(mode)}: must be one of ${MODES.join(", ")}`);
  }

  const httpEndpoint = str("http-endpoint") || undefined;
  if (httpEndpoint !== undefined) {
    try {
      parseListenAddress(httpEndpoint);
    } catch (error) {
      fail(`--http-endpoint: ${(error as Error).message}`);
    }
  }

  const metricsPath = str("metrics-path") ?? "/metrics";
  if (!metricsPath.startsWith("/")) {
    fail(`invalid --metrics-path ${JSON.stringify(metricsPath)}: must start with "/"`);
  }

  const workersText = str("workers") ?? `${DEFAULT_WORKERS}`;
  const workers = Number(workersText);
  if (!/^\d+$/.test(workersText) || !Number.isSafeInteger(workers) || workers < 1) {
    fail(`invalid --workers ${JSON.stringify(workersText)}: must be a whole number of at least 1`);
  }

  const logLevel = str("log-level") ?? "info";
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    fail(`invalid --log-level ${JSON.stringify(logLevel)}: must be one of ${LOG_LEVELS.join(", ")}`);
  }

  const duration = (name: string, fallback: string): number => {
    const text = str(name) ?? fallback;
    let ms = 0;
    try {
      ms = parseGoDuration(text);
    } catch (error) {
      fail(`--${name}: ${(error as Error).message}`);
    }
    if (!(ms > 0)) fail(`invalid --${name} ${JSON.stringify(text)}: must be positive`);
    return ms;
  };
  const leaseDurationMs = duration("leader-election-lease-duration", "15s");
  const renewDeadlineMs = duration("leader-election-renew-deadline", "10s");
  const retryPeriodMs = duration("leader-election-retry-period", "5s");
  // The same checks client-go's leader elector makes, reported before anything starts.
  if (renewDeadlineMs >= leaseDurationMs) {
    fail(
      `--leader-election-renew-deadline (${str("leader-election-renew-deadline") ?? "10s"}) must be shorter than --leader-election-lease-duration (${str("leader-election-lease-duration") ?? "15s"})`,
    );
  }
  if (renewDeadlineMs <= LEADER_ELECTION_JITTER * retryPeriodMs) {
    fail(
      `--leader-election-renew-deadline (${str("leader-election-renew-deadline") ?? "10s"}) must be longer than ${LEADER_ELECTION_JITTER} × --leader-election-retry-period (${str("leader-election-retry-period") ?? "5s"})`,
    );
  }

  const endpoints: BackendEndpoint[] = [];
  for (const text of (str("fastpath-endpoint") ?? "").split(",").filter((e) => e.trim() !== "")) {
    try {
      endpoints.push(parseEndpoint(text));
    } catch (error) {
      fail(`--fastpath-endpoint: ${(error as Error).message}`);
    }
  }
  const fallback = str("fastpath-fallback") ?? "pod";
  if (fallback !== "pod" && fallback !== "fail") {
    fail(`invalid --fastpath-fallback ${JSON.stringify(fallback)}: must be pod or fail`);
  }
  const tlsDir = str("fastpath-tls-dir") || undefined;
  if (endpoints.some((e) => e.transport === "tcp") && !tlsDir) {
    fail("--fastpath-endpoint names a TCP backend: give --fastpath-tls-dir (mutual TLS) too");
  }

  const namespace = str("namespace") || defaults.namespace;
  return {
    mode: mode as PopulatorMode,
    kubeconfig: str("kubeconfig") || undefined,
    master: str("master") || undefined,
    imageName: str("image-name") || defaults.imageName,
    httpEndpoint,
    metricsPath,
    namespace,
    workers,
    leaderElection: {
      enabled: values["leader-election"] === true,
      namespace: str("leader-election-namespace") || namespace,
      leaseDurationMs,
      renewDeadlineMs,
      retryPeriodMs,
    },
    logLevel: logLevel as LogLevel,
    fastPath: { endpoints, tlsDir, fallback },
    extra,
    rest,
  };
}

function usageText(defaults: PopulatorCliDefaults, extra: ExtraOptions): string {
  const program = defaults.programName ?? "populator";
  const shownDefaults: Record<string, string | undefined> = {
    namespace: defaults.namespace,
    "image-name": defaults.imageName,
  };
  const builtin = Object.entries(BUILTIN_FLAGS).map(([name, flag]) =>
    usageRow(
      name,
      flag.type,
      name === "help" ? "h" : undefined,
      flag.description,
      flag.shownDefault ?? shownDefaults[name],
    ),
  );
  const own = Object.entries(extra).map(([name, option]) =>
    // A boolean's default of false goes without saying.
    usageRow(name, option.type, option.short, option.description ?? "", option.default || undefined),
  );
  const width = Math.max(...[...builtin, ...own].map(([flag]) => flag.length));
  const lines = (rows: [string, string][]) =>
    rows.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`.trimEnd());
  const about =
    defaults.prefix === undefined ? "Volume populator" : `Volume populator for ${defaults.prefix}`;
  return [
    `Usage: ${program} --mode=controller|populate [flags] [-- args]`,
    "",
    `${about}, version ${defaults.version}.`,
    "",
    "Flags (also accepted as -flag, --flag=value or --flag value):",
    ...lines(builtin),
    ...(own.length > 0 ? ["", "Populator flags:", ...lines(own)] : []),
    "",
  ].join("\n");
}

function usageRow(
  name: string,
  type: "string" | "boolean",
  short: string | undefined,
  description: string,
  shownDefault: ParseArgsOptionDescriptor["default"],
): [string, string] {
  const flag = `${short === undefined ? "" : `-${short}, `}--${name}${type === "string" ? " value" : ""}`;
  const suffix =
    shownDefault === undefined || shownDefault === "" ? "" : ` (default ${String(shownDefault)})`;
  return [flag, `${description}${suffix}`.trim()];
}
