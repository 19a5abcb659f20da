/**
 * Reads pull credentials from the payload of a `kubernetes.io/dockerconfigjson` Secret (the
 * `.dockerconfigjson` key, `{"auths": {...}}`) or of the older `kubernetes.io/dockercfg`
 * (`.dockercfg`, the same map without `auths`), keyed the way the kubelet keys them.
 */
import { RegistryConfigError } from "./errors.ts";

/** What one `auths` entry grants. */
export interface RegistryCredentials {
  readonly username?: string;
  readonly password?: string;
  /** An OAuth2 refresh token (`identitytoken`), exchanged at the token server for access tokens. */
  readonly identityToken?: string;
  /** A bearer token sent as is (`registrytoken`). */
  readonly registryToken?: string;
}

/** Credentials by registry host as {@link normaliseRegistryHost} writes it. */
export type CredentialStore = ReadonlyMap<string, RegistryCredentials>;

/** The host Docker Hub's images are named under; its credentials are keyed by any of its aliases. */
export const DOCKER_HUB = "docker.io";
const DOCKER_HUB_ALIASES = new Set([
  "docker.io",
  "index.docker.io",
  "registry-1.docker.io",
  "registry.hub.docker.com",
]);

/**
 * The registry host an `auths` key or an image reference names: scheme and path dropped, lower
 * case, Docker Hub's aliases (including the historical `https://index.docker.io/v1/`) as `docker.io`.
 */
export function normaliseRegistryHost(key: string): string {
  const host = (
    key
      .trim()
      .replace(/^[a-z][a-z0-9+.-]*:\/\//i, "")
      .split("/")[0] ?? ""
  ).toLowerCase();
  return DOCKER_HUB_ALIASES.has(host) ? DOCKER_HUB : host;
}

/**
 * Parses a `.dockerconfigjson` or `.dockercfg` payload: JSON text, its UTF-8 bytes, or the object
 * already parsed. `auth` (base64 `user:password`) wins over separate `username`/`password`, as in
 * Docker. Throws {@link RegistryConfigError} naming the entry at fault, never echoing a secret.
 */
export function parseDockerConfig(payload: string | Uint8Array | object): CredentialStore {
  let parsed: unknown = payload;
  if (typeof payload === "string" || payload instanceof Uint8Array) {
    const text = typeof payload === "string" ? payload : Buffer.from(payload).toString("utf8");
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new RegistryConfigError("pull secret is not valid JSON", { cause: error });
    }
  }
  if (!isRecord(parsed)) throw new RegistryConfigError("pull secret must be a JSON object");
  const auths = "auths" in parsed ? parsed.auths : parsed;
  if (!isRecord(auths)) throw new RegistryConfigError('pull secret: "auths" must be an object');

  const store = new Map<string, RegistryCredentials>();
  for (const [key, entry] of Object.entries(auths)) {
    if (!isRecord(entry))
      throw new RegistryConfigError(`pull secret: entry ${JSON.stringify(key)} must be an object`);
    const credentials = entryCredentials(key, entry);
    if (credentials !== undefined) store.set(normaliseRegistryHost(key), credentials);
  }
  return store;
}

/** The credentials for a registry host, whichever alias the secret used for it. */
export function credentialsFor(store: CredentialStore, registry: string): RegistryCredentials | undefined {
  return store.get(normaliseRegistryHost(registry));
}

function entryCredentials(key: string, entry: Record<string, unknown>): RegistryCredentials | undefined {
  const where = `pull secret: entry ${JSON.stringify(key)}`;
  const text = (field: string): string | undefined => {
    const value = entry[field];
    if (value === undefined || value === null || value === "") return undefined;
    if (typeof value !== "string") throw new RegistryConfigError(`${where}: "${field}" must be a string`);
    return value;
  };
  let username = text("username");
  let password = text("password");
  const auth = text("auth");
  if (auth !== undefined) {
    const decoded = Buffer.from(auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon <= 0) throw new RegistryConfigError(`${where}: "auth" is not base64 of "user:password"`);
    username = decoded.slice(0, colon);
    password = decoded.slice(colon + 1);
  }
  const identityToken = text("identitytoken");
  const registryToken = text("registrytoken");
  const credentials: RegistryCredentials = {
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    ...(identityToken === undefined ? {} : { identityToken }),
    ...(registryToken === undefined ? {} : { registryToken }),
  };
  return Object.keys(credentials).length === 0 ? undefined : credentials;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
