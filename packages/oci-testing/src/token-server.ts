/**
 * A bearer token server for a test registry configured with `auth.token`: checks Basic
 * credentials and issues ES256 JWTs that docker-registry verifies through the `x5c` chain against
 * its `rootcertbundle`. Valid credentials get every action they ask for; anonymous requests get a
 * token with no access (so the registry answers 401 again, as real ones do for private repos);
 * wrong credentials get a 401 from the token server itself.
 */
import { createPrivateKey, randomUUID, sign, X509Certificate } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface TokenServerOptions {
  readonly user: string;
  readonly password: string;
  /** The registry's `auth.token.issuer`. */
  readonly issuer: string;
  /** The registry's `auth.token.service`: the token's audience. */
  readonly service: string;
  readonly signingKeyPem: string;
  readonly signingCertificatePem: string;
  /** Which field carries the token: `token` (Docker), `access_token` (OAuth2), or both. Default: both. */
  readonly tokenField?: "token" | "access_token" | "both";
}

export interface TokenServer {
  /** The realm: where clients ask for tokens. */
  readonly url: string;
  /** Token requests served so far (all outcomes). */
  readonly requests: number;
  /** The `scope` parameters of each request, in order. */
  readonly scopes: readonly (readonly string[])[];
  stop(): Promise<void>;
}

interface Access {
  type: string;
  name: string;
  actions: string[];
}

export async function startTokenServer(options: TokenServerOptions): Promise<TokenServer> {
  const key = createPrivateKey(options.signingKeyPem);
  const x5c = [new X509Certificate(options.signingCertificatePem).raw.toString("base64")];
  const scopes: string[][] = [];
  let requests = 0;

  const server = http.createServer((req, res) => {
    requests++;
    const url = new URL(req.url ?? "/", "http://token");
    const asked = url.searchParams
      .getAll("scope")
      .flatMap((s) => s.split(" "))
      .filter((s) => s !== "");
    scopes.push(asked);
    const user = basicUser(req.headers.authorization, options);
    if (user === false) {
      res.writeHead(401, { "content-type": "application/json" });
      res.end(
        JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "invalid username or password" }] }),
      );
      return;
    }
    const access: Access[] = user === undefined ? [] : asked.map(parseScope).filter((a) => a !== undefined);
    const now = Math.floor(Date.now() / 1000);
    const token = jwt(key, x5c, {
      iss: options.issuer,
      sub: user ?? "",
      aud: options.service,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access,
    });
    const field = options.tokenField ?? "both";
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        ...(field === "access_token" ? {} : { token }),
        ...(field === "token" ? {} : { access_token: token }),
        expires_in: 300,
        issued_at: new Date(now * 1000).toISOString(),
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/token`,
    get requests() {
      return requests;
    },
    scopes,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// The user for good credentials, undefined for none, false for wrong ones.
function basicUser(header: string | undefined, options: TokenServerOptions): string | undefined | false {
  if (header === undefined) return undefined;
  if (!header.startsWith("Basic ")) return false;
  const decoded = Buffer.from(header.slice(6), "base64").toString("utf8");
  return decoded === `${options.user}:${options.password}` ? options.user : false;
}

// `repository:team/app:pull,push`: names cannot hold ":", so the first and last fields bound it.
function parseScope(scope: string): Access | undefined {
  const first = scope.indexOf(":");
  const last = scope.lastIndexOf(":");
  if (first < 0 || last === first) return undefined;
  return {
    type: scope.slice(0, first),
    name: scope.slice(first + 1, last),
    actions: scope.slice(last + 1).split(","),
  };
}

function jwt(
  key: ReturnType<typeof createPrivateKey>,
  x5c: string[],
  claims: Record<string, unknown>,
): string {
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url");
  const input = `${encode({ typ: "JWT", alg: "ES256", x5c })}.${encode(claims)}`;
  // JOSE wants the raw r‖s signature, not the DER that OpenSSL produces by default.
  const signature = sign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" });
  return `${input}.${signature.toString("base64url")}`;
}
