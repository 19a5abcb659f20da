import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ConfigError } from "./errors.ts";
import { parseListenAddress } from "./listen-address.ts";
import type { Logger } from "./logger.ts";

/** Outcome of one named health or readiness check. */
export interface CheckResult {
  /** Short name shown in the response, e.g. `informers-synced`. */
  name: string;
  /** Whether the check passed. */
  ok: boolean;
  /** Why it failed; shown in the 503 body. */
  reason?: string;
}

/** The outcome of every check behind one endpoint; the endpoint is healthy when all passed (or there are none). */
export type HealthResult = readonly CheckResult[];

/** Computes a {@link HealthResult} per request; a throw or rejection counts as a failed check. */
export type HealthCheck = () => HealthResult | Promise<HealthResult>;

/** What the metrics path serves: a prom-client `Registry`, or anything with the same two members. */
export interface MetricsSource {
  /** The exposition text. */
  metrics(): Promise<string>;
  /** Its `Content-Type`, e.g. Prometheus text format 0.0.4. */
  readonly contentType: string;
}

/** Options for {@link startHttpEndpoint}. */
export interface HttpEndpointOptions {
  /** Listen address as upstream's `--http-endpoint`: `host:port`, `[ipv6]:port`, or `:port` for every interface. Port 0 picks a free port. */
  address: string;
  /** Path of the metrics; default `/metrics` (upstream's `--metrics-path` default). */
  metricsPath?: string;
  /** Source of the metrics text. */
  registry: MetricsSource;
  /** `healthz` answers liveness probes (restart when failing), `readyz` readiness probes (stop sending traffic). */
  checks: { healthz: HealthCheck; readyz: HealthCheck };
  /** Receives a line when listening and on failures while serving. */
  logger?: Logger;
}

/** A running HTTP endpoint. */
export interface HttpEndpoint {
  /** The address actually bound, useful with port 0. */
  readonly address: { host: string; port: number };
  /** Stops accepting connections and resolves once open requests have finished. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Serves `/healthz`, `/readyz` and the metrics path over plain HTTP, as upstream's
 * `--http-endpoint`: 200 `ok` when every check passes, else 503 listing each check as
 * `[+]name ok` / `[-]name failed: reason` (Kubernetes' own format, so the output looks familiar);
 * `?verbose` lists the checks on success too. Anything else is 404. Rejects with a `ConfigError`
 * for a malformed address or one that cannot be bound (in use, not local, not permitted).
 */
export async function startHttpEndpoint(options: HttpEndpointOptions): Promise<HttpEndpoint> {
  const { host, port } = parseListenAddress(options.address);
  const metricsPath = options.metricsPath ?? "/metrics";
  const logger = options.logger;
  const routes = new Map<string, Route>([
    ["/healthz", (req, res) => serveCheck("healthz", options.checks.healthz, req, res)],
    ["/readyz", (req, res) => serveCheck("readyz", options.checks.readyz, req, res)],
    [metricsPath, (_req, res) => serveMetrics(options.registry, res, logger)],
  ]);

  const server = createServer((req, res) => {
    handle(routes, req, res).catch((error: unknown) => {
      logger?.error({ err: error, path: req.url }, "HTTP endpoint failed to answer a request");
      if (!res.headersSent) send(res, 500, "internal error\n");
      else res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => reject(listenError(options.address, error));
    server.once("error", onError);
    server.listen({ port, host }, () => {
      server.off("error", onError);
      resolve();
    });
  });
  server.on("error", (error) => logger?.error({ err: error }, "HTTP endpoint error"));

  const bound = server.address() as AddressInfo;
  const address = { host: bound.address, port: bound.port };
  logger?.info({ address: options.address, port: address.port, metricsPath }, "HTTP endpoint listening");

  let closing: Promise<void> | undefined;
  return {
    address,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Keep-alive connections with no request in progress would otherwise hold close() open.
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

type Route = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

async function handle(routes: Map<string, Route>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const route = routes.get(splitUrl(req).path);
  if (route === undefined) {
    send(res, 404, "not found\n");
    return;
  }
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("Allow", "GET, HEAD");
    send(res, 405, "method not allowed\n");
    return;
  }
  await route(req, res);
}

async function serveCheck(
  endpoint: string,
  check: HealthCheck,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  let results: HealthResult;
  try {
    results = await check();
  } catch (error) {
    results = [{ name: endpoint, ok: false, reason: error instanceof Error ? error.message : String(error) }];
  }
  const healthy = results.every((r) => r.ok);
  const verbose = splitUrl(req).query.has("verbose");
  if (healthy && !verbose) {
    send(res, 200, "ok");
    return;
  }
  const lines = results.map((r) =>
    r.ok ? `[+]${r.name} ok` : `[-]${r.name} failed: ${r.reason ?? "no reason given"}`,
  );
  lines.push(`${endpoint} check ${healthy ? "passed" : "failed"}`);
  send(res, healthy ? 200 : 503, `${lines.join("\n")}\n`);
}

async function serveMetrics(registry: MetricsSource, res: ServerResponse, logger: Logger | undefined) {
  let text: string;
  try {
    text = await registry.metrics();
  } catch (error) {
    // A failing collector should show up in the scrape status, not take the endpoint down.
    logger?.error({ err: error }, "collecting metrics failed");
    send(res, 500, `collecting metrics failed: ${error instanceof Error ? error.message : String(error)}\n`);
    return;
  }
  send(res, 200, text, registry.contentType);
}

function send(res: ServerResponse, status: number, body: string, contentType = "text/plain; charset=utf-8") {
  res.statusCode = status;
  res.setHeader("Content-Type", contentType);
  res.setHeader("Content-Length", Buffer.byteLength(body));
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.end(body);
}

// Split by hand: `new URL` throws on request targets such as `//`, which should get a 404, not a 500.
function splitUrl(req: IncomingMessage): { path: string; query: URLSearchParams } {
  const url = req.url ?? "/";
  const mark = url.indexOf("?");
  return mark === -1
    ? { path: url, query: new URLSearchParams() }
    : { path: url.slice(0, mark), query: new URLSearchParams(url.slice(mark + 1)) };
}

const LISTEN_FAILURES: Record<string, string> = {
  EADDRINUSE: "address already in use",
  EACCES: "permission denied (ports below 1024 need privileges)",
  EADDRNOTAVAIL: "address not available on this machine",
};

function listenError(address: string, error: NodeJS.ErrnoException): ConfigError {
  const why = LISTEN_FAILURES[error.code ?? ""] ?? error.message;
  return new ConfigError(`cannot listen on HTTP endpoint ${JSON.stringify(address)}: ${why}`, {
    cause: error,
  });
}
