/**
 * A real registry for tests: Debian's `docker-registry` (distribution v2) on 127.0.0.1, a free
 * port, storage in a temporary directory, and optionally HTTPS with a test CA, htpasswd (Basic)
 * auth, or token (Bearer) auth with a token server of our own. Stopped and removed by `stop()`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import net, { type AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import type { PushTarget } from "@volpop/oci";
import { type CredentialPolicy, parseDigest } from "@volpop/oci";
import { createServerCertificates, createSigningCertificate } from "./certificates.ts";
import { htpasswdLine } from "./htpasswd.ts";
import { startTokenServer, type TokenServer } from "./token-server.ts";

export interface LocalRegistryOptions {
  /** Serve HTTPS with a certificate from a fresh test CA (see {@link LocalRegistry.caPem}). */
  readonly tls?: boolean;
  /** Require Basic auth with this user (`auth.htpasswd`). */
  readonly htpasswd?: { readonly user: string; readonly password: string };
  /** Require Bearer tokens (`auth.token`) from a test token server that knows this user. */
  readonly token?: { readonly user: string; readonly password: string };
  /**
   * The IPv4 address to listen on. Default 127.0.0.1; an e2e test whose pods pull from the registry
   * gives the node's address (pods have their own loopback).
   */
  readonly address?: string;
  /** The registry binary. Default: `$VOLPOP_DOCKER_REGISTRY` or `/usr/bin/docker-registry`. */
  readonly binary?: string;
}

export interface LocalRegistry {
  /** `127.0.0.1:<port>`: the registry part of image references. */
  readonly host: string;
  readonly port: number;
  /** `http(s)://127.0.0.1:<port>`. */
  readonly url: string;
  /** The test CA's certificate, with `tls`. */
  readonly caPem?: string;
  /** Where the registry stores blobs and manifests. */
  readonly storageDir: string;
  /** Everything {@link writeImage} needs to push here, credentials included. */
  readonly pushTarget: PushTarget;
  /**
   * `caCertificates` or `insecureRegistries` for a `RegistryClient` (no credentials), and the
   * `credentialPolicy` that lets credentials go to it and its token server over plain HTTP.
   */
  readonly clientOptions: {
    readonly caCertificates?: readonly string[];
    readonly insecureRegistries?: readonly string[];
    readonly credentialPolicy?: CredentialPolicy;
  };
  /** With `token`: the token server. */
  readonly tokenServer?: TokenServer;
  /** The file holding a blob's bytes: tests corrupt it to check digest verification. */
  blobPath(digest: string): string;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 15_000;

export async function startLocalRegistry(options: LocalRegistryOptions = {}): Promise<LocalRegistry> {
  if (options.htpasswd !== undefined && options.token !== undefined)
    throw new Error("choose htpasswd or token auth, not both");
  const binary = options.binary ?? process.env.VOLPOP_DOCKER_REGISTRY ?? "/usr/bin/docker-registry";
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "volpop-registry-"));
  let tokenServer: TokenServer | undefined;
  try {
    const storageDir = path.join(dir, "storage");
    await fs.mkdir(storageDir);
    const address = options.address ?? "127.0.0.1";
    const certificates = options.tls ? await createServerCertificates(dir, address) : undefined;
    const auth: string[] = [];
    if (options.htpasswd !== undefined) {
      const file = path.join(dir, "htpasswd");
      await fs.writeFile(file, `${await htpasswdLine(options.htpasswd.user, options.htpasswd.password)}\n`);
      auth.push("auth:", "  htpasswd:", "    realm: volpop-test", `    path: ${file}`);
    }
    if (options.token !== undefined) {
      const signer = await createSigningCertificate(dir);
      const service = "volpop-test-registry";
      const issuer = "volpop-test-issuer";
      tokenServer = await startTokenServer({
        ...options.token,
        service,
        issuer,
        signingKeyPem: signer.keyPem,
        signingCertificatePem: signer.certificatePem,
      });
      auth.push(
        "auth:",
        "  token:",
        `    realm: ${tokenServer.url}`,
        `    service: ${service}`,
        `    issuer: ${issuer}`,
        `    rootcertbundle: ${signer.certificatePath}`,
      );
    }

    // The port is found free, then handed to the registry: another process may take it between,
    // so a start that fails on a taken port is tried again on another.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const config = path.join(dir, "config.yml");
      await fs.writeFile(
        config,
        [
          "version: 0.1",
          "log:",
          "  level: error",
          "  accesslog:",
          "    disabled: true",
          "storage:",
          "  filesystem:",
          `    rootdirectory: ${storageDir}`,
          "  delete:",
          "    enabled: true",
          "  maintenance:",
          "    uploadpurging:",
          "      enabled: false",
          "http:",
          `  addr: ${address}:${port}`,
          `  secret: ${randomBytes(16).toString("hex")}`,
          ...(certificates === undefined
            ? []
            : [
                "  tls:",
                `    certificate: ${certificates.certificatePath}`,
                `    key: ${certificates.keyPath}`,
              ]),
          ...auth,
          "",
        ].join("\n"),
      );
      const child = spawn(binary, ["serve", config], { stdio: ["ignore", "pipe", "pipe"] });
      const output = collectOutput(child);
      const scheme = certificates === undefined ? "http" : "https";
      const url = `${scheme}://${address}:${port}`;
      try {
        await waitUntilReady(child, url, certificates?.caPem, output);
      } catch (error) {
        await stopChild(child);
        if (attempt < 3 && /address already in use/.test(output())) continue;
        throw error;
      }
      const host = `${address}:${port}`;
      const credentials = options.htpasswd ?? options.token;
      const server = tokenServer;
      // What a cluster admin would allow for a registry of their own on plain HTTP: credentials to it,
      // and to its token server (plain HTTP too, on the same address).
      const plainHttpHosts = [
        ...(certificates === undefined ? [host] : []),
        ...(server === undefined ? [] : [new URL(server.url).host]),
      ];
      const credentialPolicy = plainHttpHosts.length === 0 ? {} : { credentialPolicy: { plainHttpHosts } };
      return {
        host,
        port,
        url,
        ...(certificates === undefined ? {} : { caPem: certificates.caPem }),
        storageDir,
        pushTarget: {
          registry: host,
          ...(certificates === undefined ? { insecure: true } : { caPem: certificates.caPem }),
          ...(credentials === undefined
            ? {}
            : { username: credentials.user, password: credentials.password }),
          ...credentialPolicy,
        },
        clientOptions: {
          ...(certificates === undefined
            ? { insecureRegistries: [host] }
            : { caCertificates: [certificates.caPem] }),
          ...credentialPolicy,
        },
        ...(server === undefined ? {} : { tokenServer: server }),
        blobPath(digest) {
          const { algorithm, hex } = parseDigest(digest);
          return path.join(storageDir, "docker/registry/v2/blobs", algorithm, hex.slice(0, 2), hex, "data");
        },
        async stop() {
          await stopChild(child);
          await server?.stop();
          await fs.rm(dir, { recursive: true, force: true });
        },
      };
    }
  } catch (error) {
    await tokenServer?.stop();
    await fs.rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "0.0.0.0", resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// Keeps the last few KiB the registry printed, for error messages.
function collectOutput(child: ChildProcess): () => string {
  let text = "";
  const keep = (chunk: Buffer): void => {
    text = (text + chunk.toString("utf8")).slice(-8192);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return () => text;
}

async function waitUntilReady(
  child: ChildProcess,
  url: string,
  caPem: string | undefined,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let spawnError: Error | undefined;
  child.once("error", (error) => {
    spawnError = error;
  });
  while (Date.now() < deadline) {
    if (spawnError !== undefined)
      throw new Error(`cannot start the registry: ${spawnError.message}`, { cause: spawnError });
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the registry exited (${child.exitCode ?? child.signalCode}): ${output().trim()}`);
    }
    const status = await probe(`${url}/v2/`, caPem);
    if (status === 200 || status === 401) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the registry did not answer ${url}/v2/ within ${READY_TIMEOUT_MS} ms: ${output().trim()}`);
}

function probe(url: string, caPem: string | undefined): Promise<number | undefined> {
  return new Promise((resolve) => {
    const request = url.startsWith("https:")
      ? https.get(url, { ...(caPem === undefined ? {} : { ca: caPem }), agent: false }, done)
      : http.get(url, { agent: false }, done);
    request.setTimeout(1000, () => request.destroy());
    request.on("error", () => resolve(undefined));
    function done(response: http.IncomingMessage): void {
      response.resume();
      resolve(response.statusCode);
    }
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}
