import { constants } from "node:fs";
import { type FileHandle, lstat, open, readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";

/**
 * While a Filesystem volume is being filled, this file in its root names the operation filling it.
 * It tells a restarted copier "this half-full volume is mine, start over" apart from "someone's data,
 * keep out", and is removed once the copy is complete.
 */
export const MARKER_NAME = ".volpop-fastpath-operation";

/** mkfs leaves it in every ext* filesystem; it is not data. */
const LOST_AND_FOUND = "lost+found";

export type VolumeContents =
  | { readonly kind: "empty" }
  /** Our marker for this operation: a copy that stopped midway. */
  | { readonly kind: "ours" }
  /** Another operation's marker. */
  | { readonly kind: "other-operation"; readonly operationId: string }
  /** Entries and no marker. */
  | { readonly kind: "data" };

export async function inspectVolume(volumeDir: string, operationId: string): Promise<VolumeContents> {
  const names: string[] = [];
  for (const name of await readdir(volumeDir)) {
    if (name === LOST_AND_FOUND && (await lstat(path.join(volumeDir, name))).isDirectory()) continue;
    names.push(name);
  }
  if (names.length === 0) return { kind: "empty" };
  if (!names.includes(MARKER_NAME)) return { kind: "data" };
  const owner = await readMarker(path.join(volumeDir, MARKER_NAME));
  if (owner === undefined) return { kind: "data" };
  return owner === operationId ? { kind: "ours" } : { kind: "other-operation", operationId: owner };
}

/** The operation id in a marker, or undefined when the file is no marker of ours (a link, too big, ...). */
async function readMarker(file: string): Promise<string | undefined> {
  let handle: FileHandle;
  try {
    // O_NOFOLLOW: a symlink named like the marker must not make us read elsewhere.
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile() || stats.size > 512) return undefined;
    return (await handle.readFile("utf8")).trim();
  } finally {
    await handle.close();
  }
}

/** Writes the marker; fails if anything by that name exists. */
export async function writeMarker(volumeDir: string, operationId: string): Promise<void> {
  await writeFile(path.join(volumeDir, MARKER_NAME), `${operationId}\n`, {
    flag: "wx",
    mode: 0o644,
    flush: true,
  });
}

/** Removes everything a previous run of this operation copied, keeping the marker (and lost+found). */
export async function clearVolume(volumeDir: string): Promise<void> {
  for (const name of await readdir(volumeDir)) {
    if (name === MARKER_NAME || name === LOST_AND_FOUND) continue;
    // rm never follows symlinks: a link to "/" is removed, not what it points to.
    await rm(path.join(volumeDir, name), { recursive: true, force: true });
  }
}

export async function removeMarker(volumeDir: string): Promise<void> {
  const file = path.join(volumeDir, MARKER_NAME);
  const stats = await lstat(file).catch(() => undefined);
  if (stats?.isFile()) await rm(file);
}
