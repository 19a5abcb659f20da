/**
 * Which image of a multi-platform index to pull. Follows containerd's matcher where it matters in
 * practice: architectures are normalised (`x86_64` is `amd64`, `aarch64` is `arm64`), arm64's
 * default variant `v8` equals no variant, and a 32-bit arm node can run older arm variants.
 */
import os from "node:os";

/** An OCI platform, as in an index's `manifests[].platform`. */
export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

/** `os/arch[/variant]`, as `docker --platform` writes it. */
export function formatPlatform(platform: Platform): string {
  const { os: system, architecture, variant } = platform;
  return variant === undefined || variant === ""
    ? `${system}/${architecture}`
    : `${system}/${architecture}/${variant}`;
}

/** Reads `os/arch[/variant]`; throws on anything else. */
export function parsePlatform(text: string): Platform {
  const parts = text.split("/");
  const [system, architecture, variant] = parts;
  if (parts.length < 2 || parts.length > 3 || !system || !architecture || (parts.length === 3 && !variant)) {
    throw new Error(`platform ${JSON.stringify(text)} is not os/arch[/variant]`);
  }
  return normalisePlatform({ os: system, architecture, ...(variant === undefined ? {} : { variant }) });
}

const NODE_OS: Readonly<Record<string, string>> = { win32: "windows", sunos: "solaris" };
const NODE_ARCH: Readonly<Record<string, string>> = {
  x64: "amd64",
  ia32: "386",
  mipsel: "mipsle",
  mips64el: "mips64le",
};

/** The platform of the machine this process runs on, in OCI names. */
export function nodePlatform(): Platform {
  const system = NODE_OS[process.platform] ?? process.platform;
  let architecture = NODE_ARCH[process.arch] ?? process.arch;
  // Node has one name for both byte orders of 64-bit POWER; Linux distributions ship the little-endian one.
  if (architecture === "ppc64" && os.endianness() === "LE") architecture = "ppc64le";
  if (architecture === "arm") {
    const armVersion = (process.config.variables as Record<string, unknown>).arm_version;
    const variant = armVersion === undefined ? "v7" : `v${String(armVersion)}`;
    return { os: system, architecture, variant };
  }
  return normalisePlatform({ os: system, architecture });
}

/** Canonical names, so that platforms written by different tools compare equal. */
export function normalisePlatform(platform: Platform): Platform {
  const system = platform.os.toLowerCase();
  let architecture = platform.architecture.toLowerCase();
  let variant = platform.variant?.toLowerCase();
  switch (architecture) {
    case "x86_64":
    case "x86-64":
      architecture = "amd64";
      break;
    case "aarch64":
      architecture = "arm64";
      break;
    case "i386":
      architecture = "386";
      break;
    case "armhf":
      architecture = "arm";
      variant = "v7";
      break;
    case "armel":
      architecture = "arm";
      variant = "v6";
      break;
  }
  if (architecture === "arm64" && (variant === "8" || variant === "v8")) variant = undefined;
  if (architecture === "amd64" && variant === "v1") variant = undefined;
  if (architecture === "arm" && variant !== undefined && /^\d+$/.test(variant)) variant = `v${variant}`;
  return { os: system, architecture, ...(variant === undefined || variant === "" ? {} : { variant }) };
}

/**
 * Indexes into `candidates` in order of preference for `wanted`: the exact variant first, then
 * variants the wanted one can run (arm v7 runs v6 and v5 images; amd64 v3 runs v2 and v1), best first.
 * An empty list means nothing fits.
 */
export function rankPlatforms(wanted: Platform, candidates: readonly (Platform | undefined)[]): number[] {
  const want = normalisePlatform(wanted);
  const scored: { index: number; score: number }[] = [];
  candidates.forEach((candidate, index) => {
    if (candidate === undefined) return;
    const have = normalisePlatform(candidate);
    if (have.os !== want.os || have.architecture !== want.architecture) return;
    const score = variantScore(want.architecture, want.variant, have.variant);
    if (score !== undefined) scored.push({ index, score });
  });
  // Stable sort keeps the index's own order among equals, as containerd does.
  return scored.sort((a, b) => b.score - a.score).map((s) => s.index);
}

// Higher is better; undefined means the image cannot run on the wanted variant.
function variantScore(
  architecture: string,
  wanted: string | undefined,
  have: string | undefined,
): number | undefined {
  if (wanted === have) return 1000;
  const wantedLevel = variantLevel(architecture, wanted);
  const haveLevel = variantLevel(architecture, have);
  if (wantedLevel === undefined || haveLevel === undefined) {
    // Unknown variant scheme: an image without a variant is the generic build and runs anywhere.
    return have === undefined ? 1 : undefined;
  }
  return haveLevel <= wantedLevel ? haveLevel : undefined;
}

// Ordered variant levels for the architectures whose variants are backwards compatible.
function variantLevel(architecture: string, variant: string | undefined): number | undefined {
  if (architecture === "arm") {
    if (variant === undefined) return 5;
    const match = /^v(\d+)$/.exec(variant);
    return match ? Number(match[1]) : undefined;
  }
  if (architecture === "amd64") {
    if (variant === undefined) return 1;
    const match = /^v(\d)$/.exec(variant);
    return match ? Number(match[1]) : undefined;
  }
  return undefined;
}
