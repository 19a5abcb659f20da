/**
 * An HTTP server that writes down every request it gets (method, path, headers, body) and answers
 * with a handler of the test's: the attacker in tests of where credentials go, a registry or token
 * server that trickles its answers in tests of the deadline.
 */
import fs from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";

/** A request as the server saw it; header names lower-cased. */
export interface SeenRequest {
  readonly method: string;
  /** Path and query, e.g. `/token?scope=…`. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

export interface RecordingServer {
  /** `<address>:<port>`: use it as a registry host or in a realm. */
  readonly host: string;
  /** `http://<address>:<port>`, or `https://` with `tls`. */
  readonly url: string;
  /** Every request so far, in order. */
  readonly requests: readonly SeenRequest[];
  stop(): Promise<void>;
}

/** A certificate and key (files, as `createServerCertificates` writes them) to serve HTTPS with. */
export interface RecordingServerTls {
  readonly certificatePath: string;
  readonly keyPath: string;
}

/**
 * Starts the server on `address` (default 127.0.0.1) and a free port, over HTTPS with `tls`;
 * `handler` answers each request.
 */
export async function startRecordingServer(
  handler: (request: SeenRequest, response: http.ServerResponse) => void,
  address = "127.0.0.1",
  tls?: RecordingServerTls,
): Promise<RecordingServer> {
  const requests: SeenRequest[] = [];
  const listener: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const seen: SeenRequest = {
        method: req.method ?? "",
        path: req.url ?? "",
        headers: { ...req.headers },
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(seen);
      handler(seen, res);
    });
  };
  const server =
    tls === undefined
      ? http.createServer(listener)
      : https.createServer(
          { cert: await fs.readFile(tls.certificatePath), key: await fs.readFile(tls.keyPath) },
          listener,
        );
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `${address}:${port}`,
    url: `${tls === undefined ? "http" : "https"}://${address}:${port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
