import { constants, type Stats } from "node:fs";
import { type FileHandle, lstat, open, readdir } from "node:fs/promises";
import path from "node:path";
import { PopulationFailure } from "./population-failure.ts";

export type EntryKind = "directory" | "file" | "symlink" | "other";

export interface TreeEntry {
  /** Path below the root, never empty, never starting with "/" or containing "..". */
  readonly relative: string;
  readonly kind: EntryKind;
  /** From lstat: a symlink is described, never followed. */
  readonly stats: Stats;
  /**
   * Where to read the entry: its name in the directory the walk holds open (`/proc/<pid>/fd/<n>/<name>`),
   * so that no parent swapped for a symlink since it was checked can divert the read. The name itself
   * is looked up when the path is used: open it with `O_NOFOLLOW` and compare with {@link stats}
   * (see `copyRegularFile`). Valid until the next entry is asked for.
   */
  readonly path: string;
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
 *
 * Never follows one planted while it walks either. Each directory, the root included, is opened with
 * `O_DIRECTORY | O_NOFOLLOW` and read through that descriptor (`/proc/<pid>/fd/<n>`), and must be the
 * very directory `lstat` described (same device and inode); the entries in it are looked up through
 * it too. A directory swapped for a symlink, or for another directory, after it was looked at fails
 * the walk with a {@link PopulationFailure} rather than being read. Linux only, as the backend is.
 */
export async function* walkTree(root: string, signal?: AbortSignal): AsyncGenerator<TreeEntry> {
  yield* walkDirectory(root, "", undefined, signal);
}

async function* walkDirectory(
  location: string,
  relative: string,
  expected: Stats | undefined,
  signal?: AbortSignal,
): AsyncGenerator<TreeEntry> {
  const directory = await openDirectory(location, relative, expected);
  try {
    const held = `/proc/${process.pid}/fd/${directory.fd}`;
    const names = (await readdir(held)).sort();
    for (const name of names) {
      signal?.throwIfAborted();
      const entryPath = relative === "" ? name : path.join(relative, name);
      const access = `${held}/${name}`;
      const stats = await lstat(access);
      const kind = kindOf(stats);
      yield { relative: entryPath, kind, stats, path: access };
      if (kind === "directory") yield* walkDirectory(access, entryPath, stats, signal);
    }
  } finally {
    await directory.close();
  }
}

async function openDirectory(
  location: string,
  relative: string,
  expected: Stats | undefined,
): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(location, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ELOOP" || code === "ENOTDIR") throw changed(relative, error);
    throw error;
  }
  if (expected !== undefined) {
    const stats = await handle.stat().catch(async (error: unknown) => {
      await handle.close();
      throw error;
    });
    if (stats.dev !== expected.dev || stats.ino !== expected.ino) {
      await handle.close();
      throw changed(relative);
    }
  }
  return handle;
}

function changed(relative: string, cause?: unknown): PopulationFailure {
  return relative === ""
    ? new PopulationFailure(
        "CopyFailed",
        "the tree's root is not a directory (a symlink is never followed)",
        { cause },
      )
    : new PopulationFailure(
        "CopyFailed",
        `${JSON.stringify(relative)} changed while it was read: it is no longer the directory it was`,
        { cause },
      );
}
