/**
 * Creates one filesystem node at an absolute path whose parents are already verified real
 * directories inside the volume (see scoped-root.ts) and where nothing exists any more. None of
 * these calls follows a symlink at the last component.
 */
import fs from "node:fs/promises";
import type { Ownership } from "./metadata.ts";

export interface Times {
  readonly atime: number;
  readonly mtime: number;
}

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;

/**
 * Streams `body` into a new regular file, then sets owner, mode and times through the open
 * descriptor. Created 0600 so nobody reads it half-written; chown comes before chmod because
 * chown clears setuid and setgid. `written` is called after each chunk reaches the file.
 */
export async function writeRegularFile(
  absolute: string,
  body: AsyncIterable<Buffer>,
  attributes: { ownership: Ownership | undefined; mode: number; times: Times },
  written: (bytes: number) => void,
): Promise<void> {
  // O_EXCL: fail rather than reuse anything that appeared; O_NOFOLLOW: never write through a link.
  const handle = await fs.open(absolute, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  try {
    for await (const chunk of body) {
      let offset = 0;
      while (offset < chunk.byteLength) {
        const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset);
        offset += bytesWritten;
      }
      written(chunk.byteLength);
    }
    if (attributes.ownership !== undefined) {
      await handle.chown(attributes.ownership.uid, attributes.ownership.gid);
    }
    await handle.chmod(attributes.mode);
    await handle.utimes(attributes.times.atime, attributes.times.mtime);
  } finally {
    await handle.close();
  }
}

/** A symlink's target is stored as given: it is data, only ever followed by the scoped resolver. */
export async function writeSymlink(
  absolute: string,
  target: string,
  ownership: Ownership | undefined,
  times: Times,
): Promise<void> {
  await fs.symlink(target, absolute);
  if (ownership !== undefined) await fs.lchown(absolute, ownership.uid, ownership.gid);
  await fs.lutimes(absolute, times.atime, times.mtime);
}

/** Makes a directory (its mode and times come at the end, see deferred-directories.ts). */
export async function makeDirectory(absolute: string): Promise<void> {
  await fs.mkdir(absolute, { mode: 0o755 });
}

/** lchown: the path is a real directory, and even if it were not, no link would be followed. */
export async function setOwnership(absolute: string, ownership: Ownership | undefined): Promise<void> {
  if (ownership !== undefined) await fs.lchown(absolute, ownership.uid, ownership.gid);
}

/** link(2) never follows a symlink at `existing`; the caller has checked it is a regular file anyway. */
export async function writeHardLink(existing: string, absolute: string): Promise<void> {
  await fs.link(existing, absolute);
}
