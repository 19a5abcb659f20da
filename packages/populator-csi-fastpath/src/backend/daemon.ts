import { stat } from "node:fs/promises";
import { CliUsageError, ConfigError, createLogger, type Logger } from "@volpop/sdk";
import {
  BackendRpcError,
  GrpcCode,
  type MutualTls,
  parseEndpoint,
  readMutualTls,
  type ServingBackend,
  serveBackend,
} from "@volpop/sdk/fastpath";
import { type HttpEndpoint, startHttpEndpoint } from "@volpop/sdk/runtime";
import { VERSION } from "../version.ts";
import { parseDaemonArgs } from "./daemon-flags.ts";
import { HostpathBackend } from "./hostpath-backend.ts";
import { operationsMetrics } from "./metrics.ts";
import { probeReflink } from "./reflink-probe.ts";

export interface DaemonIo {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly stdout?: (text: string) => void;
  readonly stderr?: (text: string) => void;
  /** Stops the daemon like SIGTERM does (for tests and embedding). */
  readonly signal?: AbortSignal;
  /** Replaces the JSON logger on stdout. */
  readonly logger?: Logger;
}

/** How long calls in flight may take when stopping; calls are tiny. */
const CALL_GRACE_MS = 5000;

/**
 * The backend daemon: serves HostpathBackend until SIGTERM or SIGINT, then stops taking calls and lets
 * running copies finish for `--shutdown-grace` (operations live in memory, so a copy stopped then is
 * simply started over by the next backend, which finds its marker). Resolves to the exit code.
 */
export async function runBackendDaemon(argv: readonly string[], io: DaemonIo = {}): Promise<number> {
  const stdout = io.stdout ?? ((text) => process.stdout.write(text));
  const stderr = io.stderr ?? ((text) => process.stderr.write(text));
  let parsed: ReturnType<typeof parseDaemonArgs>;
  try {
    parsed = parseDaemonArgs(argv, io.env ?? process.env, VERSION);
  } catch (error) {
    if (!(error instanceof CliUsageError)) throw error;
    stderr(`${error.message}\n\n${error.usage}`);
    return 2;
  }
  if (parsed.action !== "run") {
    stdout(`${parsed.text.trimEnd()}\n`);
    return 0;
  }
  const config = parsed.config;
  const logger = io.logger ?? createLogger({ name: "csi-fastpath-backend", level: config.logLevel });

  let tls: MutualTls | undefined;
  try {
    await requireDirectory(config.stateDir, "--state-dir");
    await requireDirectory(config.goldenDir, "--golden-dir");
    if (config.tlsDir) tls = readMutualTls(config.tlsDir);
  } catch (error) {
    logger.error({ err: error }, "cannot start");
    return 1;
  }

  const canClone = await probeReflink(config.stateDir, config.goldenDir);
  const backend = new HostpathBackend({
    stateDir: config.stateDir,
    goldenDir: config.goldenDir,
    driverName: config.driverName,
    nodeName: config.nodeName,
    canClone,
    maxConcurrentCopies: config.maxConcurrentCopies,
    maxBytesPerSecond: config.maxBytesPerSecond,
    logger,
  });

  let serving: ServingBackend;
  let http: HttpEndpoint | undefined;
  let stopping = false;
  try {
    serving = await serveBackend(backend, {
      endpoint: parseEndpoint(config.endpoint),
      tls,
      onError: (method, error) => {
        // Refusals are the protocol working; only unexpected errors deserve attention.
        if (error instanceof BackendRpcError && error.code !== GrpcCode.INTERNAL) {
          logger.debug({ method, reason: error.reason, message: error.message }, "call refused");
        } else {
          logger.error({ method, err: error }, "call failed");
        }
      },
    });
    if (config.httpEndpoint) {
      http = await startHttpEndpoint({
        address: config.httpEndpoint,
        registry: operationsMetrics(() => backend.countByState()),
        checks: {
          healthz: () => [],
          readyz: () => [
            { name: "grpc-serving", ok: !stopping, ...(stopping ? { reason: "shutting down" } : {}) },
          ],
        },
        logger,
      });
    }
  } catch (error) {
    logger.error({ err: error }, "cannot start");
    await http?.close();
    return 1;
  }
  logger.info(
    {
      endpoint: config.endpoint,
      stateDir: config.stateDir,
      goldenDir: config.goldenDir,
      driver: config.driverName,
      nodeName: config.nodeName,
      canClone,
      maxBytesPerSecond: config.maxBytesPerSecond,
      version: VERSION,
    },
    "fast-path backend serving",
  );

  const why = await stopRequested(io.signal);
  stopping = true;
  logger.info({ why, graceMs: config.shutdownGraceMs }, "shutting down: finishing running copies");
  await serving.stop(CALL_GRACE_MS);
  await backend.shutdown(config.shutdownGraceMs);
  await http?.close();
  logger.info("stopped");
  return 0;
}

async function requireDirectory(dir: string, flag: string): Promise<void> {
  const stats = await stat(dir).catch((cause: unknown) => {
    throw new ConfigError(`${flag} ${dir} cannot be read`, { cause });
  });
  if (!stats.isDirectory()) throw new ConfigError(`${flag} ${dir} is not a directory`);
}

function stopRequested(signal: AbortSignal | undefined): Promise<string> {
  return new Promise((resolve) => {
    const done = (why: string) => {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      signal?.removeEventListener("abort", onAbort);
      resolve(why);
    };
    const onSignal = (name: NodeJS.Signals) => done(name);
    const onAbort = () => done("stopped by the caller");
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
    if (signal?.aborted) done("stopped by the caller");
    else signal?.addEventListener("abort", onAbort, { once: true });
  });
}
