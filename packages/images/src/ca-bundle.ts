/**
 * The CA bundle our images trust, built from Debian's `ca-certificates` package (its Mozilla set),
 * never copied from the building machine's `/etc/ssl/certs`: that file also holds whatever CAs the
 * machine's admin added (`/usr/local/share/ca-certificates`: a company proxy's, a sandbox's egress
 * interceptor), which a released image must not trust, and which would make two machines build
 * different bytes from the same commit.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { run } from "./exec.ts";
import { cacheDir } from "./paths.ts";
import { aptCandidate, downloadDeb } from "./platform.ts";

/** Where Debian's package keeps its certificates, one PEM file each. */
const MOZILLA_DIR = "usr/share/ca-certificates/mozilla";
const COPYRIGHT = "usr/share/doc/ca-certificates/copyright";

export interface CaBundle {
  /** The `ca-certificates` version the bundle was made from. */
  readonly version: string;
  /** PEM certificates, concatenated in file-name order as update-ca-certificates does. */
  readonly pem: Buffer;
  /** How many certificates it holds. */
  readonly count: number;
  /** The package's copyright file, shipped beside the bundle. */
  readonly copyright: Buffer;
}

/** The certificates of an unpacked `ca-certificates` package under `root`, as one bundle. */
export function bundleFromPackageTree(root: string): { pem: Buffer; count: number } {
  const dir = path.join(root, MOZILLA_DIR);
  const files = fs
    .readdirSync(dir)
    .filter((name) => name.endsWith(".crt"))
    .sort();
  if (files.length === 0) throw new Error(`${dir} holds no certificates`);
  const pems = files.map((name) => {
    const text = fs.readFileSync(path.join(dir, name), "utf8");
    if (!text.includes("-----BEGIN CERTIFICATE-----")) throw new Error(`${name} is not a PEM certificate`);
    return text.endsWith("\n") ? text : `${text}\n`;
  });
  return { pem: Buffer.from(pems.join("")), count: files.length };
}

/**
 * Debian's CA bundle at the version apt would install (downloaded once into the cache, checked by
 * apt against its signed lists), independent of what this machine has installed or added.
 */
export async function debianCaBundle(): Promise<CaBundle> {
  const version =
    (await aptCandidate("ca-certificates")) ??
    (() => {
      throw new Error("apt knows no ca-certificates package (run apt-get update)");
    })();
  const deb = await downloadDeb("ca-certificates:all", version, path.join(cacheDir(), "debs", "all"));
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "volpop-ca-"));
  try {
    await run("dpkg-deb", ["-x", deb, root]);
    return {
      version,
      ...bundleFromPackageTree(root),
      copyright: fs.readFileSync(path.join(root, COPYRIGHT)),
    };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
