// Apart from endpoint.ts, which flags parsing needs: importing @grpc/grpc-js costs every process
// that loads it (a populator pod in populate mode too) tens of MiB and a few hundred ms.
import { ChannelCredentials, ServerCredentials } from "@grpc/grpc-js";
import { ConfigError } from "../../errors.ts";
import { type BackendEndpoint, describeEndpoint, type MutualTls } from "./endpoint.ts";

/**
 * Client credentials: none on a unix socket (the socket's file mode is the access control), mutual TLS
 * over TCP. Plain TCP is refused: the backend writes into volumes, anyone reaching it must prove who
 * they are.
 */
export function clientCredentials(endpoint: BackendEndpoint, tls: MutualTls | undefined): ChannelCredentials {
  if (endpoint.transport === "unix") return ChannelCredentials.createInsecure();
  if (!tls) {
    throw new ConfigError(
      `fast-path endpoint ${describeEndpoint(endpoint)} is TCP: give it mutual TLS (CA, certificate, key)`,
    );
  }
  return ChannelCredentials.createSsl(Buffer.from(tls.ca), Buffer.from(tls.key), Buffer.from(tls.cert));
}

/** Server credentials: the same rule as {@link clientCredentials}, with client certificates required. */
export function serverCredentials(endpoint: BackendEndpoint, tls: MutualTls | undefined): ServerCredentials {
  if (endpoint.transport === "unix") return ServerCredentials.createInsecure();
  if (!tls) {
    throw new ConfigError(
      `fast-path endpoint ${describeEndpoint(endpoint)} is TCP: serve it with mutual TLS (CA, certificate, key)`,
    );
  }
  return ServerCredentials.createSsl(
    Buffer.from(tls.ca),
    [{ cert_chain: Buffer.from(tls.cert), private_key: Buffer.from(tls.key) }],
    true,
  );
}
