/**
 * The Docker token protocol (distribution's `docs/spec/auth/token.md`, which OCI registries follow):
 * a 401 with `WWW-Authenticate: Bearer realm=…,service=…,scope=…` sends the client to `realm` for
 * a short-lived token, which it then presents as `Authorization: Bearer <token>`.
 */
import type { AuthChallenge } from "./www-authenticate.ts";

/** A token and when to stop using it. */
export interface BearerToken {
  readonly token: string;
  /** Epoch milliseconds after which a fresh token is fetched. */
  readonly expiresAt: number;
}

/** The spec's default lifetime when the server gives none, and its minimum. */
const DEFAULT_EXPIRES_IN_SECONDS = 60;

/**
 * The GET URL that asks the challenge's realm for a token for `scopes` (our own, or the ones the
 * challenge named). Throws when the challenge has no usable realm.
 */
export function tokenRequestUrl(challenge: AuthChallenge, scopes: readonly string[]): URL {
  const realm = challenge.params.realm;
  if (realm === undefined || realm === "") throw new Error("Bearer challenge has no realm");
  const url = new URL(realm);
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new Error(`token realm ${realm} is not http(s)`);
  const service = challenge.params.service;
  if (service !== undefined) url.searchParams.set("service", service);
  for (const scope of scopes) url.searchParams.append("scope", scope);
  return url;
}

/** The scopes to ask for: the challenge's own when it names some (they are what it will check), else ours. */
export function challengeScopes(challenge: AuthChallenge, fallback: string | undefined): string[] {
  const named = challenge.params.scope?.split(" ").filter((s) => s !== "") ?? [];
  if (named.length > 0) return named;
  return fallback === undefined ? [] : [fallback];
}

/**
 * Reads a token server's JSON answer: `token`, or OAuth2's `access_token` (servers may send both,
 * equal), with `expires_in` seconds from `issued_at` (or from now). Throws on anything else.
 */
export function parseTokenResponse(body: unknown, now: number = Date.now()): BearerToken {
  if (typeof body !== "object" || body === null) throw new Error("token response is not a JSON object");
  const fields = body as Record<string, unknown>;
  const token = nonEmptyString(fields.token) ?? nonEmptyString(fields.access_token);
  if (token === undefined) throw new Error('token response has neither "token" nor "access_token"');
  const expiresIn =
    typeof fields.expires_in === "number" && fields.expires_in >= DEFAULT_EXPIRES_IN_SECONDS
      ? fields.expires_in
      : DEFAULT_EXPIRES_IN_SECONDS;
  const issuedAt = typeof fields.issued_at === "string" ? Date.parse(fields.issued_at) : Number.NaN;
  // A clock skewed against the server's must not make every token look expired: trust issued_at
  // only when it is near our own clock.
  const start = Number.isNaN(issuedAt) || Math.abs(issuedAt - now) > 5 * 60_000 ? now : issuedAt;
  // Renew a little early so that a token does not expire between our check and the registry's.
  return { token, expiresAt: start + expiresIn * 1000 * 0.9 };
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}
