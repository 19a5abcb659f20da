import { lstat, readlink } from "node:fs/promises";
import path from "node:path";
import { copiedMode } from "./mode.ts";
import { kindOf, walkTree } from "./walk.ts";

/**
 * Copies carry times at millisecond precision (and some filesystems keep whole seconds only), so
 * mtimes within this window are the same, as rsync's --modify-window.
 */
const MTIME_WINDOW_MS = 1000;

/**
 * Whether `volumeRoot` already holds exactly what a copy of `goldenRoot` makes, by rsync's quick
 * check: the same entries, kinds, modes, link targets, and file sizes and mtimes (which the copy
 * preserves). Owners are not compared: the Pod fallback cannot set them. This is how a copier that
 * lost its records after finishing (the marker is gone by then) recognises its own work instead of
 * calling it someone else's data.
 */
export async function treeMatches(
  goldenRoot: string,
  volumeRoot: string,
  signal?: AbortSignal,
): Promise<boolean> {
  let goldenEntries = 0;
  for await (const entry of walkTree(goldenRoot, signal)) {
    goldenEntries++;
    const copy = await lstat(path.join(volumeRoot, entry.relative)).catch(() => undefined);
    if (copy === undefined || kindOf(copy) !== entry.kind) return false;
    if (entry.kind === "symlink") {
      const [want, have] = await Promise.all([
        readlink(entry.path),
        readlink(path.join(volumeRoot, entry.relative)),
      ]);
      if (want !== have) return false;
      continue;
    }
    if (copiedMode(copy) !== copiedMode(entry.stats)) return false;
    if (
      entry.kind === "file" &&
      (copy.size !== entry.stats.size || Math.abs(copy.mtimeMs - entry.stats.mtimeMs) >= MTIME_WINDOW_MS)
    ) {
      return false;
    }
  }
  let volumeEntries = 0;
  for await (const entry of walkTree(volumeRoot, signal)) {
    // mkfs's lost+found is not data (see inspectVolume).
    if (entry.relative === "lost+found" || entry.relative.startsWith(`lost+found${path.sep}`)) continue;
    volumeEntries++;
  }
  return volumeEntries === goldenEntries;
}
