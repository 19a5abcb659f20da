import { parseArgs } from "node:util";
import { LOG_LEVELS, type LogLevel, quantityToBytes } from "@volpop/sdk";
import { parseGoDuration } from "@volpop/sdk/runtime";
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
  | { readonly action: "print"; readonly text: string };

export class DaemonUsageError extends Error {
  override name = "DaemonUsageError";
  readonly code = "USAGE";
}

export const DAEMON_USAGE = `Usage: csi-fastpath-populator backend --state-dir=DIR --golden-dir=DIR [flags]

The hostpath fast-path backend: fills hostpath CSI volumes on this node from golden content.

Flags:
  --endpoint=ADDR          where to serve the protocol: unix:///path/to.sock or host:port
                           (default ${DEFAULT_BACKEND_ENDPOINT})
  --state-dir=DIR          the hostpath CSI driver's state directory (required)
  --golden-dir=DIR         golden content: DIR/<name>/ trees, DIR/<name>.img images (required)
  --driver-name=NAME       CSI driver served (default ${DEFAULT_DRIVER_NAME})
  --node-name=NAME         node whose volumes this backend reaches (default: $NODE_NAME)
  --tls-dir=DIR            mutual TLS for TCP: ca.crt, tls.crt, tls.key (required for host:port)
  --http-endpoint=ADDR     serve /healthz, /readyz, /metrics on ADDR (e.g. :8081); off by default
  --max-concurrent-copies=N  copies at once, others wait PENDING (default 2)
  --max-bytes-per-second=QUANTITY
                           bandwidth of each copy: bytes, or a quantity such as 50Mi or 100M;
                           reflinks are not limited (default 0: no limit)
  --shutdown-grace=DURATION  on SIGTERM, how long running copies may finish (default 20s)
  --log-level=LEVEL        ${LOG_LEVELS.join(", ")} (default info)
  --help, --version
`;

/** Parses the daemon's arguments (after the `backend` word); throws {@link DaemonUsageError}. */
export function parseDaemonArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  version: string,
): DaemonArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        endpoint: { type: "string", default: DEFAULT_BACKEND_ENDPOINT },
        "state-dir": { type: "string" },
        "golden-dir": { type: "string" },
        "driver-name": { type: "string", default: DEFAULT_DRIVER_NAME },
        "node-name": { type: "string" },
        "tls-dir": { type: "string" },
        "http-endpoint": { type: "string" },
        "max-concurrent-copies": { type: "string", default: "2" },
        "max-bytes-per-second": { type: "string", default: "0" },
        "shutdown-grace": { type: "string", default: "20s" },
        "log-level": { type: "string", default: "info" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean" },
      },
    }));
  } catch (error) {
    throw new DaemonUsageError((error as Error).message, { cause: error });
  }
  if (values.help) return { action: "print", text: DAEMON_USAGE };
  if (values.version) return { action: "print", text: version };
  const text = (name: string) => (typeof values[name] === "string" ? (values[name] as string) : undefined);
  const stateDir = text("state-dir");
  const goldenDir = text("golden-dir");
  if (!stateDir) throw new DaemonUsageError("--state-dir is required");
  if (!goldenDir) throw new DaemonUsageError("--golden-dir is required");
  const logLevel = text("log-level") as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new DaemonUsageError(
      `--log-level must be one of ${LOG_LEVELS.join(", ")}, not ${JSON.stringify(logLevel)}`,
    );
  }
  const copies = Number(text("max-concurrent-copies"));
  if (!Number.isSafeInteger(copies) || copies < 1) {
    throw new DaemonUsageError("--max-concurrent-copies must be a whole number from 1");
  }
  const maxBytesPerSecond = byteRate(text("max-bytes-per-second") ?? "0");
  let shutdownGraceMs: number;
  try {
    shutdownGraceMs = parseGoDuration(text("shutdown-grace") ?? "20s");
  } catch (error) {
    throw new DaemonUsageError(`--shutdown-grace: ${(error as Error).message}`);
  }
  if (shutdownGraceMs < 0) throw new DaemonUsageError("--shutdown-grace must not be negative");
  return {
    action: "run",
    config: {
      endpoint: text("endpoint") ?? DEFAULT_BACKEND_ENDPOINT,
      stateDir,
      goldenDir,
      driverName: text("driver-name") ?? DEFAULT_DRIVER_NAME,
      nodeName: text("node-name") || env.NODE_NAME || undefined,
      tlsDir: text("tls-dir"),
      logLevel,
      httpEndpoint: text("http-endpoint"),
      maxConcurrentCopies: copies,
      maxBytesPerSecond,
      shutdownGraceMs,
    },
  };
}

/**
 * `--max-bytes-per-second`: whole bytes, as a plain number or a Kubernetes quantity (`50Mi`, `100M`),
 * the notation the rest of a cluster's sizes use. Fractions of a byte round up, as the API server
 * rounds capacities.
 */
function byteRate(text: string): number {
  const bytes = quantityToBytes(text);
  if (bytes === undefined || !Number.isSafeInteger(bytes)) {
    throw new DaemonUsageError(
      `--max-bytes-per-second must be a byte count such as 52428800 or 50Mi, not ${JSON.stringify(text)}`,
    );
  }
  return bytes;
}
