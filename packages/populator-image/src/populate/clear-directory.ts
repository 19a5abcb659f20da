/**
 * Empties the volume before and after a population, so that an attempt never builds on a previous
 * attempt's half-written tree and a failed one leaves nothing a consumer could mistake for data.
 */
import { constants } from "node:fs";
import fs, { type FileHandle } from "node:fs/promises";
import path from "node:path";

/** mkfs.ext4 creates it and e2fsck needs it: emptied, never removed, and re-created if it was replaced. */
export const LOST_AND_FOUND = "lost+found";

/** The mode mkfs.ext4 gives `lost+found` (owned by root:root). */
export const LOST_AND_FOUND_MODE = 0o700;

export interface ClearOptions {
  /**
   * Make sure the volume ends with a `lost+found`, making one if it has none: populate mode asks for
   * this after a failed attempt on a volume that had one, which a layer may have removed. Default: only
   * a `lost+found` that is there is kept (a hostpath volume, a directory on the node, has none).
   */
  readonly lostAndFound?: boolean;
}

/**
 * Removes everything in `directory`, inside `lost+found` too, and leaves `lost+found` as mkfs.ext4
 * makes it: an empty directory, mode 0700, owned by root. One that is not a directory (a symlink, a
 * file…) is removed, never followed, and a directory made in its place; where there is none, one is
 * made only if {@link ClearOptions.lostAndFound} asks for it. Resolves to whether the volume has a
 * `lost+found` now.
 *
 * Symlinks are removed, never followed. Directories are made writable before their entries are
 * removed: an image may leave read-only directories (modes are applied last), and a non-root pod
 * without CAP_DAC_OVERRIDE could not empty them otherwise. Giving `lost+found` to root and setting its
 * mode take root (or CAP_CHOWN and CAP_FOWNER): a non-root pod leaves them as they are, and a
 * `lost+found` it may not write into (root's 0700, say) holds nothing it could have put there, so it
 * is left alone. One the pod owns is made writable first (0700), whatever mode an image gave it.
 */
export async function clearDirectory(directory: string, options: ClearOptions = {}): Promise<boolean> {
  for (const name of await fs.readdir(directory)) {
    if (name === LOST_AND_FOUND) continue;
    await removeTree(path.join(directory, name));
  }
  return resetLostAndFound(directory, options.lostAndFound ?? false);
}

async function resetLostAndFound(directory: string, required: boolean): Promise<boolean> {
  const absolute = path.join(directory, LOST_AND_FOUND);
  const stats = await fs.lstat(absolute).catch(ignoreMissing);
  if (stats?.isDirectory()) {
    // Ours, though an image made it read-only (modes are applied last): ours to open up and empty.
    if (stats.uid === process.getuid?.()) await openUp(absolute);
    // Entries the pod may not remove are entries it could not have created.
    if (!(await writable(absolute))) return true;
    for (const name of await fs.readdir(absolute)) await removeTree(path.join(absolute, name));
  } else {
    if (stats === undefined && !required) return false;
    if (stats !== undefined) await fs.unlink(absolute).catch(ignoreMissing);
    await fs.mkdir(absolute, { mode: LOST_AND_FOUND_MODE });
  }
  await settleLostAndFound(absolute);
  return true;
}

/** `lost+found` opened without following symlinks, so that a mode or owner set lands on this directory; undefined if not ours to read. */
async function openLostAndFound(absolute: string): Promise<FileHandle | undefined> {
  return fs
    .open(absolute, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW)
    .catch((error: NodeJS.ErrnoException) => {
      if (error.code === "EACCES") return undefined;
      throw error;
    });
}

/** Mode 0700 for a `lost+found` the pod owns, so that it may empty it. Best effort. */
async function openUp(absolute: string): Promise<void> {
  // One the pod may not even read (mode 0000) cannot be opened: it is left as it is.
  const handle = await openLostAndFound(absolute);
  if (handle === undefined) return;
  try {
    await handle.chmod(LOST_AND_FOUND_MODE).catch(() => undefined);
  } finally {
    await handle.close();
  }
}

async function settleLostAndFound(absolute: string): Promise<void> {
  // Emptied, but not ours to read: then it is not ours to change either.
  const handle = await openLostAndFound(absolute);
  if (handle === undefined) return;
  try {
    const stats = await handle.stat();
    // Best effort, as a non-root pod cannot (see clearDirectory).
    if (stats.uid !== 0 || stats.gid !== 0) await handle.chown(0, 0).catch(() => undefined);
    if ((stats.mode & 0o7777) !== LOST_AND_FOUND_MODE) {
      await handle.chmod(LOST_AND_FOUND_MODE).catch(() => undefined);
    }
  } finally {
    await handle.close();
  }
}

async function writable(absolute: string): Promise<boolean> {
  return fs.access(absolute, constants.W_OK | constants.X_OK).then(
    () => true,
    () => false,
  );
}

async function removeTree(absolute: string): Promise<void> {
  const stats = await fs.lstat(absolute).catch(ignoreMissing);
  if (stats === undefined) return;
  if (!stats.isDirectory()) {
    await fs.unlink(absolute).catch(ignoreMissing);
    return;
  }
  // Not fatal: as root, or when another user owns it, the entries may be removable all the same.
  await fs.chmod(absolute, 0o700).catch(() => undefined);
  for (const name of await fs.readdir(absolute)) await removeTree(path.join(absolute, name));
  await fs.rmdir(absolute).catch(ignoreMissing);
}

function ignoreMissing(error: unknown): undefined {
  if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
  throw error;
}
