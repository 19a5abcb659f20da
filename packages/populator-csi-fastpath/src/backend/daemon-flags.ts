import { type LogLevel, quantityToBytes } from "@volpop/sdk";
import {
  defineFlags,
  type FlagCommand,
  type FlagEnvironment,
  httpEndpointFlags,
  loggingFlags,
  logLevelOf,
  parseFlags,
} from "@volpop/sdk/runtime";
import { DEFAULT_DRIVER_NAME } from "./hostpath-backend.ts";

export const DEFAULT_BACKEND_ENDPOINT = "unix:///run/volpop-fastpath/backend.sock";

/** The backend daemon's configuration, from its command line. */
export interface DaemonConfig {
  /** `unix:///path` (socket created 0600) or `host:port` (then `tlsDir` is required). */
  readonly endpoint: string;
  readonly stateDir: string;
  readonly goldenDir: string;
  readonly driverName: string;
  readonly nodeName: string | undefined;
  /** Directory with `ca.crt`, `tls.crt`, `tls.key` (a mounted kubernetes.io/tls Secret plus CA). */
  readonly tlsDir: string | undefined;
  readonly logLevel: LogLevel;
  /** `/healthz`, `/readyz` and `/metrics` over HTTP, when set. */
  readonly httpEndpoint: string | undefined;
  readonly maxConcurrentCopies: number;
  /** Bytes per second each copy may move at most; 0 for no limit. */
  readonly maxBytesPerSecond: number;
  /** How long SIGTERM lets running copies finish before stopping them. */
  readonly shutdownGraceMs: number;
}

export type DaemonArgs =
  | { readonly action: "run"; readonly config: DaemonConfig }
  | { readonly action: "help" | "version"; readonly text: string };

/** Name in the help and version text: the image's program, whose `backend` word starts the daemon. */
const PROGRAM = "csi-fastpath-populator backend";

const notEmpty = (value: string) => (value === "" ? "must not be empty" : undefined);

const DAEMON_FLAGS = defineFlags({
  endpoint: {
    type: "string",
    default: DEFAULT_BACKEND_ENDPOINT,
    description: "Where to serve the protocol: unix:///path/to.sock or host:port (then --tls-dir)",
  },
  "state-dir": {
    type: "string",
    required: true,
    validate: notEmpty,
    description: "The hostpath CSI driver's state directory (required)",
  },
  "golden-dir": {
    type: "string",
    required: true,
    validate: notEmpty,
    description: "Golden content: DIR/<name>/ trees, DIR/<name>.img images (required)",
  },
  "driver-name": { type: "string", default: DEFAULT_DRIVER_NAME, description: "CSI driver served" },
  "node-name": {
    type: "string",
    env: "NODE_NAME",
    description: "Node whose volumes this backend reaches",
  },
  "tls-dir": {
    type: "string",
    description: "Mutual TLS for TCP: ca.crt, tls.crt, tls.key (required for host:port)",
  },
  "http-endpoint": httpEndpointFlags()["http-endpoint"],
  "max-concurrent-copies": {
    type: "int",
    min: 1,
    default: 2,
    description: "Copies at once; others wait PENDING",
  },
  "max-bytes-per-second": {
    type: "string",
    default: "0",
    description:
      "Bytes a second each copy may move, or a quantity such as 50Mi; 0: no limit (reflinks have none)",
    validate: (text) =>
      byteRate(text) === undefined ? "must be a byte count such as 52428800 or 50Mi" : undefined,
  },
  "shutdown-grace": {
    type: "duration",
    default: 20_000,
    description: "On SIGTERM, how long running copies may finish",
    validate: (ms) => (ms >= 0 ? undefined : "must not be negative"),
  },
  ...loggingFlags(),
});

/** The daemon's command line as the flag library declares it; also read by the docs site's flags reference. */
export function daemonCommand(version: string): FlagCommand<typeof DAEMON_FLAGS> {
  return {
    program: PROGRAM,
    synopsis: "--state-dir=DIR --golden-dir=DIR [flags]",
    about: "The hostpath fast-path backend: fills hostpath CSI volumes on this node from golden content.",
    version,
    flags: DAEMON_FLAGS,
  };
}

/**
 * Parses the daemon's arguments (after the `backend` word) as the SDK's `parseFlags` does; `--node-name`
 * falls back to `$NODE_NAME` in `env`. Throws a `CliUsageError` (with the help text).
 */
export function parseDaemonArgs(argv: readonly string[], env: FlagEnvironment, version: string): DaemonArgs {
  const parsed = parseFlags(argv, daemonCommand(version), env);
  if (parsed.action !== "run") return parsed;
  const { values } = parsed;
  return {
    action: "run",
    config: {
      endpoint: values.endpoint,
      stateDir: values["state-dir"],
      goldenDir: values["golden-dir"],
      driverName: values["driver-name"],
      nodeName: values["node-name"] || undefined,
      tlsDir: values["tls-dir"] || undefined,
      logLevel: logLevelOf(values),
      httpEndpoint: values["http-endpoint"] || undefined,
      maxConcurrentCopies: values["max-concurrent-copies"],
      maxBytesPerSecond: byteRate(values["max-bytes-per-second"]) ?? 0,
      shutdownGraceMs: values["shutdown-grace"],
    },
  };
}

/**
 * `--max-bytes-per-second`: whole bytes, as a plain number or a Kubernetes quantity (`50Mi`, `100M`),
 * the notation the rest of a cluster's sizes use. Fractions of a byte round up, as the API server
 * rounds capacities. `undefined` for anything else.
 */
function byteRate(text: string): number | undefined {
  const bytes = quantityToBytes(text);
  return bytes !== undefined && Number.isSafeInteger(bytes) ? bytes : undefined;
}
