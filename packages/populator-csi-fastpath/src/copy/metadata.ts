import type { Stats } from "node:fs";
import { chmod, lchown, lutimes } from "node:fs/promises";
import { copiedMode } from "./mode.ts";

/**
 * Gives a copied entry its source's times and mode, then (when asked) its owner. Owner last: once a
 * file belongs to someone else, changing its mode or times would take CAP_FOWNER.
 */
export async function applyMetadata(
  target: string,
  stats: Stats,
  kind: "directory" | "file" | "symlink",
  preserveOwnership: boolean,
): Promise<void> {
  await lutimes(target, stats.atime, stats.mtime);
  // Linux symlinks have no mode of their own.
  if (kind !== "symlink") await chmod(target, copiedMode(stats));
  if (preserveOwnership) await lchown(target, stats.uid, stats.gid);
}
