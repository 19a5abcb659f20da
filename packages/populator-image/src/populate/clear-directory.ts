/**
 * Empties the volume before and after a population, so that an attempt never builds on a previous
 * attempt's half-written tree and a failed one leaves nothing a consumer could mistake for data.
 */
import fs from "node:fs/promises";
import path from "node:path";

/** Kept: mkfs.ext4 creates it, fsck needs it, and the populator pod may not be able to make it again. */
export const LOST_AND_FOUND = "lost+found";

/**
 * Removes everything in `directory` but `lost+found`, which stays whatever it holds. Symlinks are
 * removed, never followed. Directories are made writable before their entries are removed: an image
 * may leave read-only directories (modes are applied last), and a non-root pod without
 * CAP_DAC_OVERRIDE could not empty them otherwise.
 */
export async function clearDirectory(directory: string): Promise<void> {
  for (const name of await fs.readdir(directory)) {
    if (name === LOST_AND_FOUND) continue;
    await removeTree(path.join(directory, name));
  }
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
