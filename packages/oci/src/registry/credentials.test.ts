/**
 * Where a pull secret's credentials may go: to the registry's own host over TLS, and nowhere else
 * unless the cluster admin (the client's credentialPolicy, never the ImageSource) says so. Whoever
 * writes an ImageSource may name a pull Secret they cannot read: nothing they write may send it
 * somewhere they can read it. The attacker here records every request it gets.
 */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {
  createServerCertificates,
  type RecordingServer,
  type RecordingServerTls,
  type ScriptedResponse,
  type ServerCertificates,
  scriptedTransport,
  startRecordingServer,
} from "@volpop/oci-testing";
import { badInputCase, contained } from "@volpop/test-catalogue";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RegistryClient } from "./client.ts";
import { RegistryAuthError } from "./errors.ts";
import type { RegistryClientOptions } from "./options.ts";

const PASSWORD = "s3cret-password";
const BASIC = `Basic ${Buffer.from(`robot:${PASSWORD}`).toString("base64")}`;
const fast = { retry: { attempts: 1, initialDelayMs: 1, maxDelayMs: 1 } } satisfies RegistryClientOptions;
const AMD64 = { os: "linux", architecture: "amd64" };

const servers: RecordingServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.stop();
});

async function server(
  handler: Parameters<typeof startRecordingServer>[0],
  address?: string,
  tls?: RecordingServerTls,
) {
  const started = await startRecordingServer(handler, address, tls);
  servers.push(started);
  return started;
}

/** Every header and body the attacker saw, as one string: the secret must appear nowhere in it. */
function everythingSeenBy(attacker: RecordingServer): string {
  return JSON.stringify(attacker.requests);
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error("expected a failure");
    },
    (error: unknown) => error as Error,
  );
}

/** An attacker's registry: every request gets a Basic challenge, to collect what credentials come. */
const basicChallenger = () =>
  server((_request, response) => {
    response.writeHead(401, { "www-authenticate": 'Basic realm="give me"' });
    response.end();
  });

describe("credentials and plain HTTP", () => {
  it("never sends Basic credentials to a registry the ImageSource lists as insecure", async () => {
    const attacker = await basicChallenger();
    const client = new RegistryClient({
      ...fast,
      platform: AMD64,
      insecureRegistries: [attacker.host],
      credentials: { [attacker.host]: { username: "robot", password: PASSWORD } },
    });
    const error = await failure(client.resolve(`${attacker.host}/app:v1`));
    client.close();
    expect(error).toBeInstanceOf(RegistryAuthError);
    expect(error.message).toBe(
      `registry ${attacker.host} refused access for repository:app:pull (HTTP 401): the credentials for ${attacker.host} were not sent: it is reached over plain HTTP; check the pull secret`,
    );
    expect((error as RegistryAuthError).withheld).toBe("it is reached over plain HTTP");
    expect(attacker.requests.length).toBeGreaterThan(0);
    expect(attacker.requests.map((r) => r.headers.authorization)).toEqual(
      attacker.requests.map(() => undefined),
    );
    expect(everythingSeenBy(attacker)).not.toContain(Buffer.from(`robot:${PASSWORD}`).toString("base64"));
  });

  it("never sends a pull secret's registry token to a registry reached over plain HTTP", async () => {
    const attacker = await basicChallenger();
    const client = new RegistryClient({
      ...fast,
      platform: AMD64,
      insecureRegistries: [attacker.host],
      credentials: { [attacker.host]: { registryToken: PASSWORD } },
    });
    await failure(client.resolve(`${attacker.host}/app:v1`));
    client.close();
    expect(attacker.requests.length).toBeGreaterThan(0);
    expect(everythingSeenBy(attacker)).not.toContain(PASSWORD);
  });

  it("sends them over plain HTTP to a host the admin allows", async () => {
    const registry = await server((request, response) => {
      if (request.headers.authorization === BASIC) {
        response.writeHead(404);
        response.end();
        return;
      }
      response.writeHead(401, { "www-authenticate": 'Basic realm="r"' });
      response.end();
    });
    const client = new RegistryClient({
      ...fast,
      platform: AMD64,
      insecureRegistries: [registry.host],
      credentials: { [registry.host]: { username: "robot", password: PASSWORD } },
      credentialPolicy: { plainHttpHosts: [registry.host] },
    });
    // 404 once authenticated: the manifest does not exist, but the credentials went.
    await expect(client.resolve(`${registry.host}/app:v1`)).rejects.toThrow(/manifest for .* not found/);
    client.close();
    expect(registry.requests.map((r) => r.headers.authorization)).toEqual([undefined, BASIC]);
  });
});

describe("credentials and token realms", () => {
  /** A registry the admin trusts over plain HTTP, whose challenge sends clients to `realm`. */
  async function registryPointingAt(realm: string) {
    return server((_request, response) => {
      response.writeHead(401, { "www-authenticate": `Bearer realm="${realm}",service="registry"` });
      response.end();
    });
  }
  const tokenServer = () =>
    server((_request, response) => {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ token: "anonymous-token" }));
    });

  it.each([
    ["with a username and password", { username: "robot", password: PASSWORD }],
    ["with an identity token", { identityToken: PASSWORD }],
  ])(
    "never sends credentials to a token realm on plain HTTP, even on the registry's host (%s)",
    async (_how, credentials) => {
      const attacker = await tokenServer();
      const registry = await registryPointingAt(`${attacker.url}/token`);
      const client = new RegistryClient({
        ...fast,
        platform: AMD64,
        insecureRegistries: [registry.host],
        credentials: { [registry.host]: credentials },
        credentialPolicy: { plainHttpHosts: [registry.host] },
      });
      const error = await failure(client.resolve(`${registry.host}/app:v1`));
      client.close();
      expect(error).toBeInstanceOf(RegistryAuthError);
      expect((error as RegistryAuthError).withheld).toBe(
        `the token realm ${attacker.url}/token is reached over plain HTTP`,
      );
      // The realm got the request, anonymously: a public image still pulls.
      expect(attacker.requests.map((r) => [r.method, r.headers.authorization, r.body])).toEqual([
        ["GET", undefined, ""],
      ]);
      expect(everythingSeenBy(attacker)).not.toContain(PASSWORD);
      expect(everythingSeenBy(registry)).not.toContain(PASSWORD);
    },
  );

  badInputCase(
    {
      id: "image-token-realm-elsewhere",
      component: "image",
      input: "a registry whose Bearer challenge sends clients to a token realm on another host",
      expected:
        "RegistryAuthError: credentials withheld: the token realm is on another host than the registry",
      checks: ["no-credentials-leaked"],
    },
    async () => {
      const attacker = await tokenServer();
      const realm = `http://localhost:${attacker.host.split(":")[1]}/token`;
      const registry = await registryPointingAt(realm);
      const client = new RegistryClient({
        ...fast,
        platform: AMD64,
        insecureRegistries: [registry.host],
        credentials: { [registry.host]: { username: "robot", password: PASSWORD } },
        credentialPolicy: { plainHttpHosts: [registry.host, new URL(realm).host] },
      });
      const error = await failure(client.resolve(`${registry.host}/app:v1`));
      client.close();
      expect((error as RegistryAuthError).withheld).toBe(
        `the token realm ${realm} is on another host than the registry`,
      );
      contained("no-credentials-leaked", () => {
        expect(attacker.requests.map((r) => r.headers.authorization)).toEqual([undefined]);
        expect(everythingSeenBy(attacker)).not.toContain(Buffer.from(`robot:${PASSWORD}`).toString("base64"));
      });
    },
  );
});

describe("credentials and token realms over HTTPS", () => {
  const REGISTRY = "registry.test";
  const manifest = { status: 404 } satisfies ScriptedResponse;
  const challenge = (realm: string): ScriptedResponse => ({
    status: 401,
    headers: { "www-authenticate": `Bearer realm="${realm}",service="${REGISTRY}"` },
  });
  const script = (realm: string) =>
    scriptedTransport((request) => {
      if (request.url.pathname === "/token") return { status: 200, body: JSON.stringify({ token: "T" }) };
      return request.headers.authorization === "Bearer T" ? manifest : challenge(realm);
    });
  const resolve = async (
    transport: ReturnType<typeof scriptedTransport>,
    reference: string,
    options: RegistryClientOptions,
  ) => {
    const client = new RegistryClient({ ...fast, platform: AMD64, transport, ...options });
    await client.resolve(reference).catch(() => undefined);
    return transport.requests.filter((r) => r.url.pathname === "/token");
  };
  const credentials = { [REGISTRY]: { username: "robot", password: PASSWORD } };

  it("asks a realm on another host for a token without the credentials", async () => {
    const tokenRequests = await resolve(script("https://attacker.test/token"), `${REGISTRY}/app:v1`, {
      credentials,
    });
    expect(tokenRequests.map((r) => [r.url.host, r.headers.authorization])).toEqual([
      ["attacker.test", undefined],
    ]);
  });

  it("exchanges no identity token at a realm on another host", async () => {
    const tokenRequests = await resolve(script("https://attacker.test/token"), `${REGISTRY}/app:v1`, {
      credentials: { [REGISTRY]: { identityToken: PASSWORD } },
    });
    expect(tokenRequests.map((r) => [r.method, r.headers.authorization])).toEqual([["GET", undefined]]);
  });

  it("sends them to a realm on the registry's own host", async () => {
    const tokenRequests = await resolve(script(`https://${REGISTRY}:8443/token`), `${REGISTRY}/app:v1`, {
      credentials,
    });
    expect(tokenRequests.map((r) => r.headers.authorization)).toEqual([BASIC]);
  });

  it("sends them to a realm on another host the admin allows for this registry, and only this one", async () => {
    const credentialPolicy = { tokenRealmHosts: { [REGISTRY]: ["auth.test"] } };
    const allowed = await resolve(script("https://auth.test/token"), `${REGISTRY}/app:v1`, {
      credentials,
      credentialPolicy,
    });
    expect(allowed.map((r) => r.headers.authorization)).toEqual([BASIC]);
    const other = await resolve(script("https://auth.test/token"), "other.test/app:v1", {
      credentials: { "other.test": { username: "robot", password: PASSWORD } },
      credentialPolicy,
    });
    expect(other.map((r) => r.headers.authorization)).toEqual([undefined]);
  });

  it("sends Docker Hub's to auth.docker.io, its token service", async () => {
    const tokenRequests = await resolve(script("https://auth.docker.io/token"), "docker.io/team/app:v1", {
      credentials: { "docker.io": { username: "robot", password: PASSWORD } },
    });
    expect(tokenRequests.map((r) => [r.url.host, r.headers.authorization])).toEqual([
      ["auth.docker.io", BASIC],
    ]);
  });
});

describe("credentials and the ImageSource's own CA", () => {
  // The CA stands for an ImageSource's spec.caBundle: its author holds the key and so can be the
  // registry, for a client that trusts it. Only hosts the admin names may get credentials then.
  let dir: string;
  let certificates: ServerCertificates;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "volpop-source-ca-"));
    certificates = await createServerCertificates(dir);
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));

  const sourceCa = (sourceCaHosts: readonly string[]) =>
    ({
      caCertificates: certificates.caPem,
      credentialPolicy: { sourceCaHosts },
    }) satisfies RegistryClientOptions;

  /** An HTTPS registry wanting Basic auth: 404 (the manifest is missing) once it gets it. */
  const basicRegistry = () =>
    server(
      (request, response) => {
        response.writeHead(request.headers.authorization === undefined ? 401 : 404, {
          "www-authenticate": 'Basic realm="r"',
        });
        response.end();
      },
      undefined,
      certificates,
    );

  it.each([
    ["a username and password", { username: "robot", password: PASSWORD }],
    ["a registry token", { registryToken: PASSWORD }],
  ])("never sends %s to a registry trusted through it unless the admin allows", async (_how, given) => {
    const attacker = await basicRegistry();
    const client = new RegistryClient({
      ...fast,
      ...sourceCa(["other.example:5000"]),
      platform: AMD64,
      credentials: { [attacker.host]: given },
    });
    const error = await failure(client.resolve(`${attacker.host}/app:v1`));
    client.close();
    expect(error).toBeInstanceOf(RegistryAuthError);
    expect((error as RegistryAuthError).withheld).toBe(
      "it is reached over HTTPS trusting caCertificates not trusted with credentials",
    );
    // Anonymous requests still go: a public image pulls with the ImageSource's CA.
    expect(attacker.requests.length).toBeGreaterThan(0);
    expect(attacker.requests.map((r) => r.headers.authorization)).toEqual(
      attacker.requests.map(() => undefined),
    );
    expect(everythingSeenBy(attacker)).not.toContain(PASSWORD);
    expect(everythingSeenBy(attacker)).not.toContain(Buffer.from(`robot:${PASSWORD}`).toString("base64"));
  });

  it("sends them to a registry the admin allows with it", async () => {
    const registry = await basicRegistry();
    const client = new RegistryClient({
      ...fast,
      ...sourceCa([registry.host]),
      platform: AMD64,
      credentials: { [registry.host]: { username: "robot", password: PASSWORD } },
    });
    await expect(client.resolve(`${registry.host}/app:v1`)).rejects.toThrow(/manifest for .* not found/);
    client.close();
    expect(registry.requests.map((r) => r.headers.authorization)).toEqual([undefined, BASIC]);
  });

  /** An HTTPS registry whose Bearer challenge names an HTTPS token server on its own host, another port. */
  async function tokenAuthRegistry() {
    const tokens = await server(
      (_request, response) => {
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify({ token: "T", access_token: "T" }));
      },
      undefined,
      certificates,
    );
    const realm = `${tokens.url}/token`;
    const registry = await server(
      (request, response) => {
        if (request.headers.authorization === "Bearer T") response.writeHead(404);
        else response.writeHead(401, { "www-authenticate": `Bearer realm="${realm}",service="registry"` });
        response.end();
      },
      undefined,
      certificates,
    );
    return { tokens, registry };
  }

  it.each([
    ["a username and password", { username: "robot", password: PASSWORD }],
    ["an identity token", { identityToken: PASSWORD }],
  ])("asks a token realm trusted through it for a token without %s", async (_how, given) => {
    const { tokens, registry } = await tokenAuthRegistry();
    const client = new RegistryClient({
      ...fast,
      ...sourceCa([]),
      platform: AMD64,
      credentials: { [registry.host]: given },
    });
    await expect(client.resolve(`${registry.host}/app:v1`)).rejects.toThrow(/manifest for .* not found/);
    client.close();
    expect(tokens.requests.map((r) => [r.method, r.headers.authorization, r.body])).toEqual([
      ["GET", undefined, ""],
    ]);
    expect(everythingSeenBy(tokens)).not.toContain(PASSWORD);
    expect(everythingSeenBy(registry)).not.toContain(PASSWORD);
  });

  it("sends them to a token realm on the host of a registry the admin allows with it", async () => {
    const { tokens, registry } = await tokenAuthRegistry();
    const client = new RegistryClient({
      ...fast,
      ...sourceCa([registry.host]),
      platform: AMD64,
      credentials: { [registry.host]: { username: "robot", password: PASSWORD } },
    });
    await expect(client.resolve(`${registry.host}/app:v1`)).rejects.toThrow(/manifest for .* not found/);
    client.close();
    expect(tokens.requests.map((r) => r.headers.authorization)).toEqual([BASIC]);
  });

  it("leaves the credentials alone where the CAs are the caller's own (no sourceCaHosts)", async () => {
    const registry = await basicRegistry();
    const client = new RegistryClient({
      ...fast,
      caCertificates: certificates.caPem,
      platform: AMD64,
      credentials: { [registry.host]: { username: "robot", password: PASSWORD } },
    });
    await expect(client.resolve(`${registry.host}/app:v1`)).rejects.toThrow(/manifest for .* not found/);
    client.close();
    expect(registry.requests.map((r) => r.headers.authorization)).toEqual([undefined, BASIC]);
  });
});
