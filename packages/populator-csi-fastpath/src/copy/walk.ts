import type { Stats } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import path from "node:path";

export type EntryKind = "directory" | "file" | "symlink" | "other";

export interface TreeEntry {
  /** Path below the root, never empty, never starting with "/" or containing "..". */
  readonly relative: string;
  readonly kind: EntryKind;
  /** From lstat: a symlink is described, never followed. */
  readonly stats: Stats;
}

export function kindOf(stats: Stats): EntryKind {
  if (stats.isDirectory()) return "directory";
  if (stats.isFile()) return "file";
  if (stats.isSymbolicLink()) return "symlink";
  return "other";
}

/**
 * Every entry below `root` (not the root itself), parents before children, names sorted so that two
 * walks of the same tree agree. Symlinks are reported, never followed: a link to "/" is one entry.
 */
export async function* walkTree(root: string, signal?: AbortSignal): AsyncGenerator<TreeEntry> {
  yield* walkDirectory(root, "", signal);
}

async function* walkDirectory(
  root: string,
  relative: string,
  signal?: AbortSignal,
): AsyncGenerator<TreeEntry> {
  const names = (await readdir(path.join(root, relative))).sort();
  for (const name of names) {
    signal?.throwIfAborted();
    const entryPath = relative === "" ? name : path.join(relative, name);
    const stats = await lstat(path.join(root, entryPath));
    const kind = kindOf(stats);
    yield { relative: entryPath, kind, stats };
    if (kind === "directory") yield* walkDirectory(root, entryPath, signal);
  }
}
