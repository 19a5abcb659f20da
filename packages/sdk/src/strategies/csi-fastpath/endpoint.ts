import { readFileSync } from "node:fs";
import { ConfigError } from "../../errors.ts";

/** Where a fast-path backend listens: a unix socket, or TCP with mutual TLS. */
export type BackendEndpoint =
  | { readonly transport: "unix"; readonly path: string }
  | { readonly transport: "tcp"; readonly host: string; readonly port: number };

/** PEM material for mutual TLS, as mounted from a Secret (`ca.crt`, `tls.crt`, `tls.key`). */
export interface MutualTls {
  /** CA that signed the peer's certificate. */
  readonly ca: string;
  /** This side's certificate chain. */
  readonly cert: string;
  /** This side's private key. */
  readonly key: string;
}

/**
 * Parses `unix:///run/backend.sock`, `unix:/run/backend.sock`, `/run/backend.sock`, `host:port` or
 * `dns:///host:port` (gRPC's own spellings).
 */
export function parseEndpoint(text: string): BackendEndpoint {
  const value = text.trim();
  const unix = /^unix:(?:\/\/)?(\/.+)$/.exec(value);
  if (unix?.[1]) return { transport: "unix", path: unix[1] };
  if (value.startsWith("/")) return { transport: "unix", path: value };
  const tcp = /^(?:dns:(?:\/\/\/)?)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  const port = Number(tcp?.[2]);
  if (tcp?.[1] && port > 0 && port < 65536) return { transport: "tcp", host: tcp[1], port };
  throw new ConfigError(
    `fast-path endpoint ${JSON.stringify(text)} is neither unix:///path/to.sock nor host:port`,
  );
}

/** The address gRPC dials or binds for an endpoint. */
export function grpcAddress(endpoint: BackendEndpoint): string {
  return endpoint.transport === "unix" ? `unix://${endpoint.path}` : `${endpoint.host}:${endpoint.port}`;
}

export function describeEndpoint(endpoint: BackendEndpoint): string {
  return endpoint.transport === "unix" ? `unix://${endpoint.path}` : `${endpoint.host}:${endpoint.port}`;
}

/** Reads `ca.crt`, `tls.crt` and `tls.key` from a mounted Secret's directory. */
export function readMutualTls(dir: string): MutualTls {
  const read = (name: string) => {
    try {
      return readFileSync(`${dir}/${name}`, "utf8");
    } catch (cause) {
      throw new ConfigError(`cannot read ${name} for fast-path mutual TLS from ${dir}`, { cause });
    }
  };
  return { ca: read("ca.crt"), cert: read("tls.crt"), key: read("tls.key") };
}
