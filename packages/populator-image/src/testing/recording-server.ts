/**
 * An HTTP server that writes down every request it gets (method, path, headers, body) and answers
 * with a handler of the test's: the attacker in tests of where credentials go, a registry or token
 * server that trickles its answers in tests of the deadline.
 */
import http from "node:http";
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
  /** `http://<address>:<port>`. */
  readonly url: string;
  /** Every request so far, in order. */
  readonly requests: readonly SeenRequest[];
  stop(): Promise<void>;
}

/** Starts the server on `address` (default 127.0.0.1) and a free port; `handler` answers each request. */
export async function startRecordingServer(
  handler: (request: SeenRequest, response: http.ServerResponse) => void,
  address = "127.0.0.1",
): Promise<RecordingServer> {
  const requests: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
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
  });
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `${address}:${port}`,
    url: `http://${address}:${port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
