#!/usr/bin/env node
/**
 * A TCP relay: `--listen=<ip>:<port>` to `--to=<host>:<port>`. The registry listens on loopback only,
 * and each further node's loopback is its own; this lets their containerd pull from it through the
 * first node's address without the registry listening anywhere else.
 */
import net from "node:net";
import { parseArgs } from "node:util";

function endpoint(value: string | undefined, flag: string): { host: string; port: number } {
  const match = value?.match(/^(.+):(\d+)$/);
  if (!match) throw new Error(`${flag} must be <host>:<port> (got ${JSON.stringify(value)})`);
  return { host: match[1] as string, port: Number(match[2]) };
}

const { values } = parseArgs({ options: { listen: { type: "string" }, to: { type: "string" } } });
const listen = endpoint(values.listen, "--listen");
const target = endpoint(values.to, "--to");

const server = net.createServer((client) => {
  const upstream = net.connect(target);
  // A reset on either side ends both; nothing else to clean up.
  client.on("error", () => upstream.destroy());
  upstream.on("error", () => client.destroy());
  client.pipe(upstream).pipe(client);
});
server.on("error", (error) => {
  process.stderr.write(`registry-relay: ${error.message}\n`);
  process.exit(1);
});
server.listen(listen.port, listen.host);
for (const signal of ["SIGTERM", "SIGINT"] as const)
  process.on(signal, () => server.close(() => process.exit(0)));
