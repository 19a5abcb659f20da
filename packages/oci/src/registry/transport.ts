/**
 * One HTTP exchange, with nothing registry-specific: no redirects followed, no retries, no auth.
 * The client does those, so that it can decide per hop what to resend (never `Authorization` to
 * another host). Built on `node:http`/`node:https` rather than global `fetch`, which takes no
 * per-request CA and buffers nothing we can resume from.
 */
import http from "node:http";
import https from "node:https";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import tls from "node:tls";

export interface HttpRequest {
  readonly method: "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  /** Sent as is; a stream is sent chunked and can only be sent once, so is never retried. */
  readonly body?: Uint8Array | Readable;
  readonly signal?: AbortSignal;
}

export interface HttpResponse {
  readonly status: number;
  /** Lower-cased names; a repeated header's values joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  /** Must be read to the end or destroyed, or the connection is not released. */
  readonly body: Readable;
}

/** Sends requests; tests pass their own to script a registry's answers. */
export interface Transport {
  request(request: HttpRequest): Promise<HttpResponse>;
  /** Releases pooled connections. */
  close?(): void;
}

export interface NodeTransportOptions {
  /** PEM bundles trusted in addition to Node's default CAs (which include `NODE_EXTRA_CA_CERTS`). */
  readonly caCertificates?: readonly string[];
  /** Give up when connecting, or waiting for response headers once the request is sent, takes this long. */
  readonly headersTimeoutMs: number;
  /** Give up when the connection carries no byte for this long, headers or body. */
  readonly idleTimeoutMs: number;
}

/** An error carrying a Node-style `code`, so the client classifies timeouts like other network errors. */
export class TransportTimeoutError extends Error {
  readonly code = "ETIMEDOUT";
  override name = "TransportTimeoutError";
}

export function createNodeTransport(options: NodeTransportOptions): Required<Transport> {
  const extraCas = options.caCertificates ?? [];
  const httpsAgent = new https.Agent({
    keepAlive: true,
    ...(extraCas.length === 0 ? {} : { ca: [...tls.getCACertificates("default"), ...extraCas] }),
  });
  const httpAgent = new http.Agent({ keepAlive: true });

  return {
    request(request) {
      const secure = request.url.protocol === "https:";
      const send = secure ? https.request : http.request;
      return new Promise<HttpResponse>((resolve, reject) => {
        const headers: Record<string, string> = { ...request.headers };
        if (request.body instanceof Uint8Array) headers["content-length"] = String(request.body.byteLength);
        const req = send(request.url, {
          method: request.method,
          headers,
          agent: secure ? httpsAgent : httpAgent,
          ...(request.signal === undefined ? {} : { signal: request.signal }),
        });
        let response: http.IncomingMessage | undefined;
        // Runs while connecting and again once the body is sent, not during an upload, which may
        // rightly take longer; the idle timeout below covers a stalled upload.
        const waitFor = (what: string): NodeJS.Timeout =>
          setTimeout(() => {
            req.destroy(
              new TransportTimeoutError(`${what} ${request.url.host} in ${options.headersTimeoutMs} ms`),
            );
          }, options.headersTimeoutMs);
        const connectTimer = waitFor("no connection to");
        let responseTimer: NodeJS.Timeout | undefined;
        const clearTimers = (): void => {
          clearTimeout(connectTimer);
          clearTimeout(responseTimer);
        };
        req.on("socket", (socket) => {
          if (!socket.connecting) clearTimeout(connectTimer);
          else socket.once("connect", () => clearTimeout(connectTimer));
        });
        req.on("finish", () => {
          if (response === undefined) responseTimer = waitFor("no response from");
        });
        req.setTimeout(options.idleTimeoutMs, () => {
          const error = new TransportTimeoutError(
            `${request.url.host} sent nothing for ${options.idleTimeoutMs} ms`,
          );
          if (response === undefined) req.destroy(error);
          else response.destroy(error);
        });
        req.on("error", (error) => {
          clearTimers();
          reject(error);
        });
        req.on("response", (res) => {
          clearTimers();
          response = res;
          resolve({ status: res.statusCode ?? 0, headers: flattenHeaders(res.headers), body: res });
        });
        if (request.body === undefined) req.end();
        else if (request.body instanceof Uint8Array) req.end(request.body);
        else pipeline(request.body, req).catch((error: unknown) => req.destroy(error as Error));
      });
    },
    close() {
      httpsAgent.destroy();
      httpAgent.destroy();
    },
  };
}

function flattenHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return flat;
}

/** Reads a whole (small) body, failing once it passes `limit` bytes so a hostile server cannot exhaust memory. */
export async function readBody(body: Readable, limit: number, onTooLarge: () => Error): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > limit) {
      body.destroy();
      throw onTooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, length);
}

/**
 * Throws away a body we do not need; never throws. A short one is drained so its connection can be
 * reused, anything else is cut: downloading a blob only to drop it costs more than a new connection.
 */
export function discardBody(response: HttpResponse): void {
  response.body.on("error", () => {});
  const length = Number(response.headers["content-length"] ?? Number.NaN);
  if (length <= 64 * 1024) response.body.resume();
  else response.body.destroy();
}

/** A body that is already complete, for transports written in tests. */
export function bodyOf(content: string | Uint8Array = ""): Readable {
  return Readable.from(content === "" ? [] : [typeof content === "string" ? Buffer.from(content) : content]);
}
