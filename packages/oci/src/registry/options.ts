/**
 * The one options object a {@link RegistryClient} takes, field by field, and the defaults that
 * fill it in.
 */
import type { RegistryCredentials } from "./docker-config.ts";
import type { Platform } from "./platform.ts";
import type { RetryPolicy } from "./retry.ts";
import type { Transport } from "./transport.ts";

/** Severity of a {@link RegistryLogFn} line. */
export type RegistryLogLevel = "debug" | "info" | "warn";

/**
 * Receives the client's log lines: retries, redirects, token fetches. Structured fields first, as
 * the SDK's pino-shaped `Logger` takes them: `(level, fields, msg) => logger[level](fields, msg)`.
 */
export type RegistryLogFn = (
  level: RegistryLogLevel,
  fields: Record<string, unknown>,
  message: string,
) => void;

/**
 * Where credentials may go beyond the default: the registry's own host, over TLS. By default a
 * registry's credentials (Basic auth, a registry token) go only to its API host over HTTPS, and a
 * token request carries them (Basic auth, or an identity token to exchange) only to a realm on the
 * registry's host name over HTTPS (for Docker Hub, also `auth.docker.io`, its token service). A realm
 * elsewhere, or on plain HTTP, still gets the request, without them: public images pull all the same.
 *
 * This is the cluster admin's to set (the image populator takes it from its flags), never the author
 * of an ImageSource's: whoever may name a pull Secret without reading it must not be able to send it,
 * through `insecureRegistries` or a registry of their choosing, to where they can read it.
 */
export interface CredentialPolicy {
  /**
   * Hosts that may get credentials over plain HTTP: a registry as in image references
   * (`registry.local:5000`; it must also be in {@link RegistryClientOptions.insecureRegistries} to
   * be reached over HTTP at all), or a token realm's `host[:port]`. Default: none.
   */
  readonly plainHttpHosts?: readonly string[];
  /**
   * Token realm hosts (`host[:port]` as in the realm's URL) that may get a registry's credentials
   * though they are not the registry's host, by registry: `{ "registry.example.com": ["sso.example.com"] }`.
   * Default: none, besides `auth.docker.io` for `docker.io`.
   */
  readonly tokenRealmHosts?: Readonly<Record<string, readonly string[]>>;
  /**
   * Set when {@link RegistryClientOptions.caCertificates} are not the admin's but an ImageSource
   * author's (its `spec.caBundle`): with such a CA, whoever wrote it can vouch for a server of their
   * own, so credentials go over HTTPS only to these hosts (a registry as in image references, or a
   * token realm's `host[:port]`; a realm on an allowed registry's host name is allowed with it), and
   * other hosts are asked anonymously. Undefined: the CAs are trusted like Node's own roots.
   * Ignored without caCertificates.
   */
  readonly sourceCaHosts?: readonly string[];
}

export interface RegistryClientOptions {
  /**
   * Pull secrets: each the payload of a `kubernetes.io/dockerconfigjson` Secret (the decoded
   * `.dockerconfigjson` value as JSON text, bytes or the parsed object) or of a legacy
   * `kubernetes.io/dockercfg` one. For a registry named in several, the later one wins, as the
   * kubelet does with `imagePullSecrets`. Default: none, every registry is pulled from anonymously.
   */
  readonly pullSecrets?: readonly (string | Uint8Array | object)[];
  /**
   * Credentials by registry host (`registry.example.com:5000`; `docker.io` for Docker Hub),
   * applied after {@link pullSecrets} and winning over them.
   */
  readonly credentials?: Readonly<Record<string, RegistryCredentials>>;
  /**
   * PEM CA certificates (one bundle per string, each may hold several) trusted for HTTPS in
   * addition to Node's default roots, e.g. a private registry's CA. Default: none.
   */
  readonly caCertificates?: string | readonly string[];
  /**
   * Registries (host or host:port, as in image references) reached over plain HTTP instead of
   * HTTPS. There is deliberately no "skip TLS verification": trust a private CA through
   * {@link caCertificates} instead, which keeps the connection authenticated. Default: none.
   */
  readonly insecureRegistries?: readonly string[];
  /** Where credentials may go beyond the registry's own host over TLS. Default: nowhere. */
  readonly credentialPolicy?: CredentialPolicy;
  /** Timeouts for each HTTP exchange. */
  readonly timeouts?: {
    /** Give up on a request whose response headers have not arrived after this long. Default: 30 s. */
    readonly headersMs?: number;
    /** Give up on a connection that carries no byte for this long, mid-body included. Default: 60 s. */
    readonly idleMs?: number;
  };
  /**
   * How failed requests and dropped blob downloads are retried (network errors, 429, 5xx; a dropped
   * blob resumes where it stopped). Default: {@link DEFAULT_RETRY_POLICY}.
   */
  readonly retry?: Partial<RetryPolicy>;
  /** The platform picked from a multi-platform index. Default: this node's ({@link nodePlatform}). */
  readonly platform?: Platform;
  /**
   * Largest manifest, index or image config read, in bytes. They are held in memory, so this keeps
   * a hostile registry from exhausting it. Default: 4 MiB (the distribution spec's suggestion).
   */
  readonly maxManifestBytes?: number;
  /** Sends the HTTP requests. Default: `node:https`/`node:http` with keep-alive and the CAs above. */
  readonly transport?: Transport;
  /** Receives log lines. Default: none. */
  readonly log?: RegistryLogFn;
  /**
   * Stops everything the client does when it aborts: requests, token fetches, waits between
   * retries, blob downloads under way (which fail with the signal's reason). For an overall
   * deadline, which the per-exchange timeouts are not: a server that trickles one byte at a time
   * never trips them. Default: none.
   */
  readonly signal?: AbortSignal;
}

export const DEFAULT_MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
export const DEFAULT_HEADERS_TIMEOUT_MS = 30_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
