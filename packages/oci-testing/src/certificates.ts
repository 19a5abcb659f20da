/**
 * Throwaway certificates for test registries, made with the `openssl` CLI: a CA and a server
 * certificate it signs (for HTTPS), and a self-signed key pair that signs bearer tokens.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface ServerCertificates {
  /** The CA a client must trust, PEM. */
  readonly caPem: string;
  readonly certificatePath: string;
  readonly keyPath: string;
}

export interface SigningCertificate {
  readonly certificatePem: string;
  readonly certificatePath: string;
  readonly keyPem: string;
}

/** A fresh CA and a certificate it signs for `127.0.0.1`, `localhost` and `address`, written into `dir`. */
export async function createServerCertificates(
  dir: string,
  address = "127.0.0.1",
): Promise<ServerCertificates> {
  const file = (name: string): string => path.join(dir, name);
  await openssl(
    ["req", "-x509", ...ecKey(), "-keyout", file("ca.key"), "-out", file("ca.pem"), "-days", "2"],
    ["-subj", "/CN=volpop test CA", "-addext", "basicConstraints=critical,CA:TRUE"],
    ["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
  );
  await openssl(
    ["req", "-new", ...ecKey(), "-keyout", file("server.key"), "-out", file("server.csr")],
    ["-subj", "/CN=127.0.0.1"],
  );
  await fs.writeFile(
    file("server.ext"),
    [
      `subjectAltName=IP:127.0.0.1,DNS:localhost${address === "127.0.0.1" ? "" : `,IP:${address}`}`,
      "extendedKeyUsage=serverAuth",
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature",
    ].join("\n"),
  );
  await openssl(
    ["x509", "-req", "-in", file("server.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca.key")],
    ["-set_serial", `0x${randomBytes(8).toString("hex")}`, "-days", "2", "-extfile", file("server.ext")],
    ["-out", file("server.pem")],
  );
  return {
    caPem: await fs.readFile(file("ca.pem"), "utf8"),
    certificatePath: file("server.pem"),
    keyPath: file("server.key"),
  };
}

/**
 * A self-signed P-256 certificate for signing tokens (ES256). It carries no extended key usage:
 * the registry checks token chains with Go's defaults, which accept a certificate without one.
 */
export async function createSigningCertificate(dir: string): Promise<SigningCertificate> {
  const certificatePath = path.join(dir, "token-signer.pem");
  const keyPath = path.join(dir, "token-signer.key");
  await openssl(
    ["req", "-x509", ...ecKey(), "-keyout", keyPath, "-out", certificatePath, "-days", "2"],
    ["-subj", "/CN=volpop test token signer"],
  );
  return {
    certificatePem: await fs.readFile(certificatePath, "utf8"),
    certificatePath,
    keyPem: await fs.readFile(keyPath, "utf8"),
  };
}

function ecKey(): string[] {
  return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
}

async function openssl(...args: string[][]): Promise<void> {
  try {
    await run("openssl", args.flat());
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? "";
    throw new Error(`openssl ${args.flat()[0]} failed: ${stderr.trim() || (error as Error).message}`, {
      cause: error,
    });
  }
}
