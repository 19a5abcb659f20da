/**
 * Registry HTTP with the protocol's chores done: the right scheme and host for a registry name,
 * authentication (anonymous, Basic, or Bearer tokens from the realm a 401 names, cached per
 * scope), redirects (blobs usually live behind one, on another host that must not see our
 * credentials), and retries with backoff. It returns every other response for the caller to
 * interpret, so that a 404 means what the caller knows it means (missing tag, missing blob…).
 */
import { Readable } from "node:stream";
import { DOCKER_HUB, normaliseRegistryHost, type RegistryCredentials } from "./docker-config.ts";
import {
  RegistryAuthError,
  RegistryError,
  RegistryResponseError,
  RegistryTlsError,
  RegistryUnavailableError,
  SOURCE_CA,
} from "./errors.ts";
import type { CredentialPolicy, RegistryLogFn } from "./options.ts";
import {
  backoffDelay,
  isRetryableNetworkError,
  isRetryableStatus,
  type RetryPolicy,
  retryAfterDelay,
  sleep,
  tlsFailureCode,
} from "./retry.ts";
import { type BearerToken, challengeScopes, parseTokenResponse, tokenRequestUrl } from "./token.ts";
import { discardBody, type HttpRequest, type HttpResponse, readBody, type Transport } from "./transport.ts";
import { type AuthChallenge, parseWwwAuthenticate } from "./www-authenticate.ts";

export interface RegistryHttpConfig {
  readonly transport: Transport;
  /** Credentials for a registry host as named in references, if any. */
  readonly credentials: (registry: string) => RegistryCredentials | undefined;
  /** Registries spoken to over plain HTTP, as {@link normaliseRegistryHost} writes them. */
  readonly insecureRegistries: ReadonlySet<string>;
  /** Where credentials may go beyond the registry's own host over TLS (see {@link CredentialPolicy}). */
  readonly credentialPolicy?: CredentialPolicy | undefined;
  /** Whether the transport trusts CAs beyond Node's roots: {@link CredentialPolicy.sourceCaHosts} applies only then. */
  readonly extraCas?: boolean;
  readonly retry: RetryPolicy;
  readonly log: RegistryLogFn;
  /** Aborts every call, on top of each call's own signal. */
  readonly signal?: AbortSignal | undefined;
}

/** One logical request to a registry; {@link RegistryHttp.send} may make several HTTP exchanges for it. */
export interface RegistryCall {
  /** Registry host as in image references (`docker.io`, `localhost:5000`). */
  readonly registry: string;
  readonly method: HttpRequest["method"];
  /** A path under the registry (`/v2/…`), or an absolute URL (an upload's `Location`). */
  readonly target: string | URL;
  readonly headers?: Readonly<Record<string, string>>;
  /** A streamed body can be sent once only: such a call is never retried. */
  readonly body?: Uint8Array | Readable;
  /** Access needed, e.g. `repository:library/busybox:pull`: what a bearer token is asked for. */
  readonly scope?: string;
  /** Names the request in errors and logs, e.g. `manifest registry:5000/app:v1`. */
  readonly what: string;
  readonly signal?: AbortSignal;
}

/** The host Docker Hub's registry API answers on: `docker.io` itself only redirects to the website. */
const DOCKER_HUB_API = "registry-1.docker.io";
const MAX_REDIRECTS = 5;
/** Docker Hub's token service: the one realm on another host trusted without being told. */
const DOCKER_HUB_AUTH = "auth.docker.io";
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** An Authorization header for a call, and why the credentials were kept back if they were. */
interface Authorization {
  readonly header: string | undefined;
  readonly withheld: string | undefined;
}

/** A token, and why the credentials were kept back from the request for it if they were. */
interface FetchedToken {
  readonly token: BearerToken;
  readonly withheld: string | undefined;
}

export class RegistryHttp {
  readonly #config: RegistryHttpConfig;
  /** The challenge each registry answered with last: lets later requests authenticate up front. */
  readonly #challenges = new Map<string, AuthChallenge>();
  readonly #tokens = new Map<string, Promise<FetchedToken>>();
  /** {@link CredentialPolicy.plainHttpHosts}, normalised. */
  readonly #plainHttpHosts: ReadonlySet<string>;
  /** {@link CredentialPolicy.tokenRealmHosts} by normalised registry, with Docker Hub's own. */
  readonly #tokenRealmHosts: ReadonlyMap<string, ReadonlySet<string>>;
  /** {@link CredentialPolicy.sourceCaHosts}, normalised; undefined when every HTTPS host may get credentials. */
  readonly #sourceCaHosts: ReadonlySet<string> | undefined;

  constructor(config: RegistryHttpConfig) {
    this.#config = config;
    const policy = config.credentialPolicy ?? {};
    this.#plainHttpHosts = new Set((policy.plainHttpHosts ?? []).map((host) => host.toLowerCase()));
    const realms = new Map<string, Set<string>>([[DOCKER_HUB, new Set([DOCKER_HUB_AUTH])]]);
    for (const [registry, hosts] of Object.entries(policy.tokenRealmHosts ?? {})) {
      const name = normaliseRegistryHost(registry);
      const known = realms.get(name) ?? new Set<string>();
      for (const host of hosts) known.add(host.toLowerCase());
      realms.set(name, known);
    }
    this.#tokenRealmHosts = realms;
    this.#sourceCaHosts =
      config.extraCas === true && policy.sourceCaHosts !== undefined
        ? new Set(policy.sourceCaHosts.map(normaliseRegistryHost))
        : undefined;
  }

  /** Where a registry's API lives: scheme by the insecure list, Docker Hub's API host for `docker.io`. */
  baseUrl(registry: string): URL {
    const name = normaliseRegistryHost(registry);
    const host = name === DOCKER_HUB ? DOCKER_HUB_API : name;
    return new URL(`${this.#config.insecureRegistries.has(name) ? "http" : "https"}://${host}`);
  }

  /**
   * Sends `call`, retrying network failures, 429 and 5xx per the policy. Returns the first other
   * response, after redirects and authentication; its body must be consumed or discarded.
   * @throws RegistryAuthError, RegistryTlsError, RegistryUnavailableError
   */
  async send(given: RegistryCall): Promise<HttpResponse> {
    const call = this.#withClientSignal(given);
    const policy = this.#config.retry;
    const retriable = !(call.body instanceof Readable);
    for (let attempt = 1; ; attempt++) {
      let failure: string;
      let cause: unknown;
      let serverDelay: number | undefined;
      try {
        const response = await this.#authenticated(call);
        if (!isRetryableStatus(response.status)) return response;
        failure = `HTTP ${response.status}${await errorDetail(response, ": ")}`;
        serverDelay = retryAfterDelay(response.headers["retry-after"], policy);
      } catch (error) {
        cause = error;
        const url = typeof call.target === "string" ? this.baseUrl(call.registry) : call.target;
        failure = this.#classify(call, url, error);
      }
      if (!retriable || attempt >= policy.attempts) {
        throw new RegistryUnavailableError(call.registry, attempt, `${call.what}: ${failure}`, { cause });
      }
      await this.#pause(call, attempt, failure, serverDelay);
    }
  }

  /** `call` with the client's signal joined to its own. */
  #withClientSignal(call: RegistryCall): RegistryCall {
    const client = this.#config.signal;
    if (client === undefined) return call;
    return { ...call, signal: call.signal === undefined ? client : AbortSignal.any([client, call.signal]) };
  }

  async #pause(
    call: RegistryCall,
    attempt: number,
    failure: string,
    serverDelay: number | undefined,
  ): Promise<void> {
    const delay = serverDelay ?? backoffDelay(this.#config.retry, attempt);
    this.#config.log(
      "warn",
      { registry: call.registry, attempt, delayMs: delay, failure },
      `retrying ${call.what}`,
    );
    await sleep(delay, call.signal);
  }

  // Authenticates as the registry asks: anonymously first (or with what an earlier challenge taught
  // us), then once more with fresh credentials after a 401 that names a scheme we can answer.
  async #authenticated(call: RegistryCall): Promise<HttpResponse> {
    let authorization = await this.#authorization(call, undefined);
    for (let pass = 1; ; pass++) {
      const { response, fromRegistry } = await this.#followRedirects(call, authorization.header);
      if (!fromRegistry || (response.status !== 401 && response.status !== 403)) return response;
      const header = response.headers["www-authenticate"];
      const detail = await errorDetail(response, "");
      if (response.status === 401 && pass === 1 && header !== undefined) {
        const challenge = this.#learn(call.registry, header);
        const fresh = challenge === undefined ? undefined : await this.#authorization(call, challenge);
        // Try again with a header; without one, keep why the credentials were kept back, to say so.
        if (fresh !== undefined && (fresh.header !== undefined || fresh.withheld !== undefined)) {
          authorization = fresh;
          if (fresh.header !== undefined) continue;
        }
      }
      const why =
        detail !== ""
          ? detail
          : authorization.header === undefined
            ? "no credentials for this registry"
            : "credentials not accepted";
      throw new RegistryAuthError(call.registry, call.scope, response.status, why, {
        withheld: authorization.withheld,
      });
    }
  }

  async #followRedirects(
    call: RegistryCall,
    authorization: string | undefined,
  ): Promise<{ response: HttpResponse; fromRegistry: boolean }> {
    const registryOrigin = this.baseUrl(call.registry).origin;
    let url =
      typeof call.target === "string" ? new URL(call.target, this.baseUrl(call.registry)) : call.target;
    let method = call.method;
    for (let hop = 0; ; hop++) {
      const fromRegistry = url.origin === registryOrigin;
      if (call.body instanceof Readable && call.body.readableDidRead) {
        throw new RegistryResponseError(call.what, 0, "a streamed request body cannot be sent twice");
      }
      const response = await this.#config.transport.request({
        method,
        url,
        headers: {
          ...call.headers,
          // Redirect targets (object storage, CDNs) get no credentials: they authorise by signed URL.
          ...(fromRegistry && authorization !== undefined ? { authorization } : {}),
        },
        ...(hop === 0 && call.body !== undefined ? { body: call.body } : {}),
        ...(call.signal === undefined ? {} : { signal: call.signal }),
      });
      const location = response.headers.location;
      if (!isRedirect(response.status) || location === undefined) return { response, fromRegistry };
      discardBody(response);
      if (hop >= MAX_REDIRECTS)
        throw new RegistryResponseError(call.what, response.status, "too many redirects");
      url = new URL(location, url);
      if (response.status === 303 && method !== "HEAD") method = "GET";
      this.#config.log("debug", { registry: call.registry, location: url.origin }, `${call.what} redirected`);
    }
  }

  #learn(registry: string, header: string): AuthChallenge | undefined {
    const challenges = parseWwwAuthenticate(header);
    const chosen =
      challenges.find((c) => c.scheme === "bearer") ?? challenges.find((c) => c.scheme === "basic");
    if (chosen !== undefined) this.#challenges.set(normaliseRegistryHost(registry), chosen);
    return chosen;
  }

  // The Authorization header for a call. `fresh` is the challenge the call was just refused with:
  // then a new token is fetched even if one is cached, for the scopes that challenge names.
  async #authorization(call: RegistryCall, fresh: AuthChallenge | undefined): Promise<Authorization> {
    const found = this.#config.credentials(call.registry);
    const withheld = found === undefined ? undefined : this.#withheldFromRegistry(call.registry);
    const credentials = withheld === undefined ? found : undefined;
    if (credentials?.registryToken !== undefined) {
      return { header: `Bearer ${credentials.registryToken}`, withheld };
    }
    const challenge = fresh ?? this.#challenges.get(normaliseRegistryHost(call.registry));
    if (challenge === undefined) return { header: undefined, withheld };
    if (challenge.scheme === "basic") {
      const { username, password } = credentials ?? {};
      return {
        header: username === undefined ? undefined : basicAuthorization(username, password ?? ""),
        withheld,
      };
    }
    const key = `${normaliseRegistryHost(call.registry)} ${call.scope ?? ""}`;
    let token = this.#tokens.get(key);
    if (fresh !== undefined || token === undefined || (await token).token.expiresAt <= Date.now()) {
      const scopes =
        fresh === undefined
          ? call.scope === undefined
            ? []
            : [call.scope]
          : challengeScopes(fresh, call.scope);
      token = this.#fetchToken(call, challenge, scopes, found, withheld);
      this.#tokens.set(key, token);
      token.catch(() => {
        if (this.#tokens.get(key) === token) this.#tokens.delete(key);
      });
    }
    const fetched = await token;
    return { header: `Bearer ${fetched.token.token}`, withheld: fetched.withheld };
  }

  /** Why a registry's credentials may not go to it, or undefined when they may (see {@link CredentialPolicy}). */
  #withheldFromRegistry(registry: string): string | undefined {
    if (this.baseUrl(registry).protocol === "https:") {
      return this.#sourceCaHosts === undefined || this.#sourceCaHosts.has(normaliseRegistryHost(registry))
        ? undefined
        : `it is reached over HTTPS trusting ${SOURCE_CA}`;
    }
    return this.#plainHttpHosts.has(normaliseRegistryHost(registry))
      ? undefined
      : "it is reached over plain HTTP";
  }

  /** Why a registry's credentials may not go to this token realm, or undefined when they may. */
  #withheldFromRealm(registry: string, realm: URL): string | undefined {
    const name = `${realm.origin}${realm.pathname}`;
    const host = realm.host.toLowerCase();
    const own = realm.hostname.toLowerCase() === this.baseUrl(registry).hostname;
    if (!own && !this.#tokenRealmHosts.get(normaliseRegistryHost(registry))?.has(host)) {
      return `the token realm ${name} is on another host than the registry`;
    }
    if (realm.protocol !== "https:" && !this.#plainHttpHosts.has(host)) {
      return `the token realm ${name} is reached over plain HTTP`;
    }
    const sourceCa = this.#sourceCaHosts;
    if (realm.protocol === "https:" && sourceCa !== undefined && !sourceCa.has(host)) {
      const registryAllowed = own && sourceCa.has(normaliseRegistryHost(registry));
      if (!registryAllowed) return `the token realm ${name} is reached over HTTPS trusting ${SOURCE_CA}`;
    }
    return undefined;
  }

  // `found` are the registry's credentials; `withheld` says why they may not go even to the registry.
  async #fetchToken(
    call: RegistryCall,
    challenge: AuthChallenge,
    scopes: readonly string[],
    found: RegistryCredentials | undefined,
    registryWithheld: string | undefined,
  ): Promise<FetchedToken> {
    let url: URL;
    try {
      url = tokenRequestUrl(challenge, scopes);
    } catch (error) {
      throw new RegistryResponseError(call.what, 401, (error as Error).message, { cause: error });
    }
    const withheld =
      found === undefined ? undefined : (registryWithheld ?? this.#withheldFromRealm(call.registry, url));
    const credentials = withheld === undefined ? found : undefined;
    if (withheld !== undefined) {
      this.#config.log(
        "warn",
        { registry: call.registry, realm: `${url.origin}${url.pathname}`, withheld },
        "asking for a token without the pull secret's credentials",
      );
    }
    const what = `token for ${scopes.join(" ") || call.registry} from ${url.origin}${url.pathname}`;
    this.#config.log(
      "debug",
      { registry: call.registry, realm: `${url.origin}${url.pathname}`, scopes },
      "fetching token",
    );
    const refreshToken = credentials?.identityToken;
    let request: HttpRequest;
    if (refreshToken !== undefined) {
      // An identity token is an OAuth2 refresh token: exchanged by POST, as Docker does.
      const form = new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: refreshToken,
        service: challenge.params.service ?? "",
        scope: scopes.join(" "),
        client_id: "volpop",
      });
      request = {
        method: "POST",
        url: new URL(`${url.origin}${url.pathname}`),
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: Buffer.from(form.toString()),
      };
    } else {
      const basic =
        credentials?.username === undefined
          ? {}
          : { authorization: basicAuthorization(credentials.username, credentials.password ?? "") };
      request = { method: "GET", url, headers: { accept: "application/json", ...basic } };
    }
    const response = await this.#exchange(call, what, request);
    if (response.status === 401 || response.status === 403) {
      const detail = await errorDetail(response, "");
      const who =
        credentials === undefined
          ? "anonymous access was refused"
          : "the token server refused the credentials";
      throw new RegistryAuthError(
        call.registry,
        scopes.join(" ") || call.scope,
        response.status,
        detail || who,
        { withheld },
      );
    }
    if (response.status !== 200) {
      throw new RegistryResponseError(what, response.status, await errorDetail(response, ""));
    }
    const body = await readBody(
      response.body,
      MAX_ERROR_BODY_BYTES,
      () => new RegistryResponseError(what, 200, "token response too large"),
    );
    try {
      return { token: parseTokenResponse(JSON.parse(body.toString("utf8"))), withheld };
    } catch (error) {
      throw new RegistryResponseError(what, 200, (error as Error).message, { cause: error });
    }
  }

  /** One plain request (no auth dance, no redirects) with the retry policy: for token servers. */
  async #exchange(call: RegistryCall, what: string, request: HttpRequest): Promise<HttpResponse> {
    const policy = this.#config.retry;
    for (let attempt = 1; ; attempt++) {
      let failure: string;
      let serverDelay: number | undefined;
      let cause: unknown;
      try {
        const response = await this.#config.transport.request({
          ...request,
          ...(call.signal === undefined ? {} : { signal: call.signal }),
        });
        if (!isRetryableStatus(response.status)) return response;
        failure = `HTTP ${response.status}${await errorDetail(response, ": ")}`;
        serverDelay = retryAfterDelay(response.headers["retry-after"], policy);
      } catch (error) {
        cause = error;
        failure = this.#classify(call, request.url, error);
      }
      if (attempt >= policy.attempts) {
        throw new RegistryUnavailableError(request.url.host, attempt, `${what}: ${failure}`, { cause });
      }
      await this.#pause({ ...call, what }, attempt, failure, serverDelay);
    }
  }

  /** Describes a retryable network error; throws anything else, TLS trust failures as {@link RegistryTlsError}. */
  #classify(call: RegistryCall, url: URL, error: unknown): string {
    if (error instanceof RegistryError || call.signal?.aborted) throw error;
    const tls = tlsFailureCode(error);
    if (tls !== undefined) {
      throw new RegistryTlsError(url.host, `${tls}: ${(error as Error).message}`, { cause: error });
    }
    if (!isRetryableNetworkError(error)) throw error;
    return describeError(error);
  }
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
}

/** A network error in a few words: its code and message. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" && !error.message.includes(code)
    ? `${code} ${error.message}`
    : error.message;
}

/**
 * The registry's explanation of a failed request, from its `{"errors":[{code,message}]}` body (or
 * the start of a text one), prefixed with `prefix`; empty when there is none. Consumes the body.
 */
export async function errorDetail(response: HttpResponse, prefix: string): Promise<string> {
  let text: string;
  try {
    text = (await readBody(response.body, MAX_ERROR_BODY_BYTES, () => new Error("too large"))).toString(
      "utf8",
    );
  } catch {
    return "";
  }
  let detail = text.trim().slice(0, 200);
  try {
    const parsed = JSON.parse(text) as { errors?: { code?: unknown; message?: unknown }[] };
    if (Array.isArray(parsed.errors) && parsed.errors.length > 0) {
      detail = parsed.errors
        .map((e) => [e.code, e.message].filter((part) => typeof part === "string" && part !== "").join(": "))
        .join("; ");
    }
  } catch {
    // Not JSON: the text itself is the best explanation there is.
  }
  return detail === "" ? "" : `${prefix}${detail}`;
}
