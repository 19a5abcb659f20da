/**
 * A TCP proxy in front of a test server that fails on command: it cuts a connection after a
 * given number of bytes (a download dropped mid-blob), or goes down and comes back (a registry
 * restarting). TLS passes through untouched, so it sits in front of HTTPS registries too.
 */
import net, { type AddressInfo } from "node:net";

export interface FaultProxy {
  /** `<address>:<port>`: use it as the registry in references. */
  readonly host: string;
  readonly port: number;
  /**
   * From now on, counts bytes sent to clients; the connection that carries byte `bytes + 1` is
   * cut right after byte `bytes`. Happens once per call.
   */
  cutAfter(bytes: number): void;
  /** Connections cut by {@link cutAfter} so far. */
  readonly cuts: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Stops listening (connections are refused) and drops every open connection. */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  stop(): Promise<void>;
}

export async function startFaultProxy(
  target: {
    readonly host: string;
    readonly port: number;
  },
  /** Where to listen; default 127.0.0.1 (an e2e test whose pods connect gives the node's address). */
  address = "127.0.0.1",
): Promise<FaultProxy> {
  const sockets = new Set<net.Socket>();
  let budget: number | undefined;
  let cuts = 0;
  let connections = 0;

  const server = net.createServer((client) => {
    connections++;
    const upstream = net.connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", close);
    upstream.on("error", close);
    client.on("close", close);
    upstream.on("close", close);
    client.pipe(upstream);
    upstream.on("data", (chunk: Buffer) => {
      if (budget !== undefined && chunk.length > budget) {
        const head = chunk.subarray(0, budget);
        budget = undefined;
        cuts++;
        upstream.pause();
        client.write(head, () => close());
        return;
      }
      if (budget !== undefined) budget -= chunk.length;
      if (!client.write(chunk)) {
        upstream.pause();
        client.once("drain", () => upstream.resume());
      }
    });
    upstream.on("end", () => client.end());
  });

  const listen = (port: number): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, address, () => {
        server.off("error", reject);
        resolve();
      });
    });
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      if (!server.listening) {
        resolve();
        return;
      }
      server.close(() => resolve());
    });

  await listen(0);
  const { port } = server.address() as AddressInfo;
  return {
    host: `${address}:${port}`,
    port,
    cutAfter(bytes) {
      budget = bytes;
    },
    get cuts() {
      return cuts;
    },
    get connections() {
      return connections;
    },
    down: close,
    up: () => listen(port),
    stop: close,
  };
}
