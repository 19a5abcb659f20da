/**
 * The CA bundle our images trust, built from Debian's `ca-certificates` package (its Mozilla set),
 * never copied from the building machine's `/etc/ssl/certs`: that file also holds whatever CAs the
 * machine's admin added (`/usr/local/share/ca-certificates`: a company proxy's, a sandbox's egress
 * interceptor), which a released image must not trust, and which would make two machines build
 * different bytes from the same commit.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { run } from "./exec.ts";
import { cacheDir } from "./paths.ts";
import { downloadDeb } from "./platform.ts";

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
 * The `ca-certificates` package our images' bundle comes from: pinned, with the .deb's sha256, so that
 * two machines build the same bytes whatever their apt lists say (the candidate version differs with
 * their freshness, release and pinning). When Debian replaces it, apt no longer serves this version:
 * bump both together (`apt-get download ca-certificates:all` and `sha256sum` the file).
 */
export const CA_CERTIFICATES = {
  version: "20250419~deb12u2",
  sha256: "b9f76b5271a7ac373fd5e7e1b5b826a71ddd702b42a0d104955ecb1acfffc94b",
} as const;

/**
 * Debian's CA bundle from the pinned package (downloaded once into the cache with apt, which checks it
 * against its signed lists; its sha256 checked here every time, cached or not).
 */
export async function debianCaBundle(
  pin: { version: string; sha256: string } = CA_CERTIFICATES,
): Promise<CaBundle> {
  const deb = await downloadDeb(
    "ca-certificates:all",
    pin.version,
    path.join(cacheDir(), "debs", "all"),
  ).catch((error: unknown) => {
    throw new Error(
      `cannot download ca-certificates ${pin.version} (pinned in packages/images/src/ca-bundle.ts): ${(error as Error).message.split("\n")[0]}. If Debian has replaced it (apt-cache policy ca-certificates), bump the pinned version and sha256 together.`,
      { cause: error },
    );
  });
  const actual = createHash("sha256").update(fs.readFileSync(deb)).digest("hex");
  if (actual !== pin.sha256)
    throw new Error(
      `${deb} has sha256 ${actual}, not the pinned ${pin.sha256}: refusing to build a CA bundle from it`,
    );
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "volpop-ca-"));
  try {
    await run("dpkg-deb", ["-x", deb, root]);
    return {
      version: pin.version,
      ...bundleFromPackageTree(root),
      copyright: fs.readFileSync(path.join(root, COPYRIGHT)),
    };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
