import { ConfigError } from "./errors.ts";

// Apart from the HTTP server: the command line checks addresses in every mode, and importing
// node:http costs a populator pod ~50 ms of CPU at start (its ESM facade loads Node's undici).

/** The parts of an `--http-endpoint` value; `host` is absent for `:port`. */
export interface ListenAddress {
  host?: string;
  port: number;
}

/**
 * Parses an `--http-endpoint` value the way Go's `net.Listen` reads it. Throws a `ConfigError`
 * naming the value when it is not `host:port`, `[ipv6]:port` or `:port` with a port 0–65535.
 */
export function parseListenAddress(address: string): ListenAddress {
  const match = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d{1,5})$/.exec(address);
  const port = Number(match?.[3]);
  if (match === null || port > 65535) {
    throw new ConfigError(
      `invalid HTTP endpoint address ${JSON.stringify(address)}: expected "host:port", "[ipv6]:port" or ":port" with a port from 0 to 65535`,
    );
  }
  const host = match[1] ?? match[2] ?? "";
  return host === "" ? { port } : { host, port };
}
