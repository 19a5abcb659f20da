import os from "node:os";
import path from "node:path";

/** The repository's root (this file is packages/images/src/paths.ts). */
export const repoRoot = path.resolve(import.meta.dirname, "../../..");

/** volpop's cache on this machine: `$VOLPOP_CACHE`, or `~/.cache/volpop` (node binaries, buildah's storage). */
export function cacheDir(): string {
  return process.env.VOLPOP_CACHE ?? path.join(os.homedir(), ".cache", "volpop");
}
