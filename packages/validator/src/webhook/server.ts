/**
 * The webhook's HTTPS server (node:https): `POST /validate` with an `AdmissionReview`, answered with
 * an `AdmissionReview`. The certificate can be swapped while serving, for renewals.
 */
import { once } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import type { Logger } from "@volpop/sdk";
import { type AdmissionOutcome, InvalidAdmissionReviewError } from "./admission.ts";

/** The path the webhook configuration's `clientConfig.service.path` names. */
export const WEBHOOK_PATH = "/validate";

/**
 * Largest request body read. The API server sends the PVC (and on updates the old one); objects
 * are at most 1.5 MiB in etcd, so two of them and the review fit.
 */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** How long `close` lets requests in flight finish before cutting connections. */
const CLOSE_GRACE_MS = 5000;

/** A PEM certificate (chain) and its private key. */
export interface TlsKeyPair {
  readonly cert: string;
  readonly key: string;
}

/** Options for {@link startWebhookServer}. */
export interface WebhookServerOptions {
  /** Port to listen on; 0 picks a free one (tests). */
  readonly port: number;
  /** Address to listen on. Default: every interface. */
  readonly host?: string;
  readonly tls: TlsKeyPair;
  /** Answers one parsed request body; throws {@link InvalidAdmissionReviewError} for a bad one. */
  readonly review: (body: unknown) => AdmissionOutcome;
  readonly logger: Logger;
}

/** A running webhook server. */
export interface WebhookServer {
  /** The port actually bound. */
  readonly port: number;
  /** Serves `tls` to new connections from now on. */
  setCertificate(tls: TlsKeyPair): void;
  /** Stops accepting connections and resolves once open requests have finished. */
  close(): Promise<void>;
}

/**
 * Starts the HTTPS server and resolves once it listens; rejects when the port cannot be bound.
 * Answers 404 off {@link WEBHOOK_PATH}, 405 for other methods, 415 for other content types, 413
 * for bodies over {@link MAX_BODY_BYTES}, 400 for a body that is no `AdmissionReview`.
 */
export async function startWebhookServer(options: WebhookServerOptions): Promise<WebhookServer> {
  const { logger } = options;
  const server: Server = createServer({
    cert: options.tls.cert,
    key: options.tls.key,
    minVersion: "TLSv1.2",
    // The API server keeps connections open between calls; do not let an idle one linger forever.
    keepAliveTimeout: 30_000,
    requestTimeout: 30_000,
  });
  server.on("request", (request: IncomingMessage, response: ServerResponse) => {
    handle(request, response, options).catch((error: unknown) => {
      logger.error({ err: error }, "answering an admission request failed");
      if (!response.headersSent) reply(response, 500, "text/plain", "internal error\n");
      else response.destroy();
    });
  });
  server.on("tlsClientError", (error) => logger.debug({ err: error }, "TLS handshake failed"));
  server.listen(options.port, options.host);
  await Promise.race([
    once(server, "listening"),
    once(server, "error").then(([error]) => {
      throw error;
    }),
  ]);
  const { port } = server.address() as AddressInfo;
  logger.info({ port, path: WEBHOOK_PATH }, "admission webhook listening");
  let closed: Promise<void> | undefined;
  return {
    port,
    setCertificate: (tls) => server.setSecureContext({ cert: tls.cert, key: tls.key, minVersion: "TLSv1.2" }),
    close() {
      closed ??= new Promise<void>((resolve) => {
        // Requests in flight get a moment to finish; kept-alive connections do not hold the stop up.
        const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closed;
    },
  };
}

async function handle(request: IncomingMessage, response: ServerResponse, options: WebhookServerOptions) {
  const path = new URL(request.url ?? "/", "https://webhook").pathname;
  if (path !== WEBHOOK_PATH) return reply(response, 404, "text/plain", "not found\n");
  if (request.method !== "POST") {
    response.setHeader("Allow", "POST");
    return reply(response, 405, "text/plain", "method not allowed\n");
  }
  const type = (request.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/json") return reply(response, 415, "text/plain", "expected application/json\n");

  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return reply(response, 413, "text/plain", "request body too large\n");
    chunks.push(chunk as Buffer);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    return reply(response, 400, "text/plain", "the body is not JSON\n");
  }
  let outcome: AdmissionOutcome;
  try {
    outcome = options.review(body);
  } catch (error) {
    if (error instanceof InvalidAdmissionReviewError) {
      options.logger.warn({ reason: error.message }, "rejected a malformed admission request");
      return reply(response, 400, "text/plain", `${error.message}\n`);
    }
    throw error;
  }
  return reply(response, 200, "application/json", JSON.stringify(outcome.review));
}

function reply(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, { "Content-Type": type, "Content-Length": Buffer.byteLength(body) });
  response.end(body);
}
