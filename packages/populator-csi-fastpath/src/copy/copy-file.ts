import { constants, type Stats } from "node:fs";
import { copyFile, type FileHandle, open, rm } from "node:fs/promises";
import { kernelCopy, kernelCopyTool } from "./kernel-copy.ts";
import type { Pacer } from "./pacer.ts";
import { PopulationFailure } from "./population-failure.ts";
import { isAllZero } from "./zero.ts";

/** Whether reflinks work between the golden tree and the volume; learnt from the first file. */
export type CloneSupport = "unknown" | "yes" | "no";

/** State shared by the files of one copy. */
export interface FileCopyRun {
  readonly signal: AbortSignal | undefined;
  /** Files up to this size go whole through `copyFile` (kernel-side, not abortable midway). */
  readonly wholeFileLimit: number;
  /** Larger files move in chunks of this size, so progress and cancel stay responsive. */
  readonly buffer: Buffer;
  clone: CloneSupport;
  /**
   * Holds copied bytes to a rate when set. Whole files are taken before they go, so a limited copy
   * must keep its whole-file limit within one chunk (see copyTree) for no single take to burst.
   */
  readonly pacer: Pacer | undefined;
  /** Copy unpaced files above `wholeFileLimit` with the kernel's copy (see kernel-copy.ts) when it is there. */
  readonly kernelCopy: boolean;
  readonly onBytes: (bytes: number) => void;
}

export const DEFAULT_WHOLE_FILE_LIMIT = 32 * 1024 * 1024;
export const DEFAULT_CHUNK_BYTES = 1024 * 1024;

/** Errors saying "this filesystem pair cannot reflink", as opposed to a real failure. */
const NO_CLONE = new Set(["ENOTSUP", "EOPNOTSUPP", "EXDEV", "EINVAL", "ENOSYS", "ENOTTY"]);

/** A regular file as the walk found it (see `TreeEntry`). */
export interface SourceFile {
  /** Below the tree's root: names the file in errors. */
  readonly relative: string;
  /** Where to open it: a path that no parent swapped for a symlink can divert. */
  readonly path: string;
  /** What lstat said it was: the file opened must be this one. */
  readonly stats: Stats;
}

/**
 * Copies one regular file to a path that must not exist yet (never overwrites, never follows a link
 * planted there). Cheapest first: a reflink (shares blocks, instant); then libuv's copyfile, which the
 * kernel does (copy_file_range or sendfile) but which cannot report progress or stop midway, so only
 * for files up to `wholeFileLimit`; larger files go in chunks, leaving holes where the source reads
 * as zeros. With a pacer, copied bytes (holes included: they are read all the same) wait their turn;
 * a reflink moves no data and does not.
 *
 * The source is opened once, with `O_NOFOLLOW`, and must be the very file the walk described (same
 * device and inode): one swapped for a symlink or another file since fails with a
 * {@link PopulationFailure}, and every way of copying reads that descriptor (`/proc/<pid>/fd/<n>`),
 * never the name again.
 */
export async function copyRegularFile(
  source: SourceFile,
  target: string,
  run: FileCopyRun,
): Promise<"clone" | "copy"> {
  run.signal?.throwIfAborted();
  const input = await openSource(source);
  try {
    const pinned = `/proc/${process.pid}/fd/${input.fd}`;
    const size = source.stats.size;
    if (run.clone !== "no" && size > 0) {
      try {
        await copyFile(pinned, target, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE_FORCE);
        run.clone = "yes";
        run.onBytes(size);
        return "clone";
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? "";
        if (!NO_CLONE.has(code)) throw error;
        // One refusal says the filesystems cannot share blocks; stop asking for every file.
        if (run.clone === "unknown") run.clone = "no";
        await rm(target, { force: true });
      }
    }
    if (size <= run.wholeFileLimit) {
      await run.pacer?.take(size, run.signal);
      await copyFile(pinned, target, constants.COPYFILE_EXCL);
      run.onBytes(size);
      return "copy";
    }
    // Unpaced big files: the kernel's copy, when the tool for it is there.
    const tool = run.pacer || !run.kernelCopy ? undefined : await kernelCopyTool();
    if (tool) {
      await kernelCopy(tool, pinned, target, size, run.signal, run.onBytes);
      return "copy";
    }
    await copyInChunks(input, target, size, run);
    return "copy";
  } finally {
    await input.close();
  }
}

async function openSource(source: SourceFile): Promise<FileHandle> {
  const changed = (cause?: unknown) =>
    new PopulationFailure(
      "CopyFailed",
      `${JSON.stringify(source.relative)} changed while it was read: it is no longer the file it was`,
      { cause },
    );
  let input: FileHandle;
  try {
    input = await open(source.path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ELOOP") throw changed(error);
    throw error;
  }
  const stats = await input.stat().catch(async (error: unknown) => {
    await input.close();
    throw error;
  });
  if (!stats.isFile() || stats.dev !== source.stats.dev || stats.ino !== source.stats.ino) {
    await input.close();
    throw changed();
  }
  return input;
}

async function copyInChunks(
  input: FileHandle,
  target: string,
  size: number,
  run: FileCopyRun,
): Promise<void> {
  const output = await open(
    target,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o600,
  );
  try {
    let position = 0;
    while (position < size) {
      run.signal?.throwIfAborted();
      const length = Math.min(run.buffer.length, size - position);
      await run.pacer?.take(length, run.signal);
      const { bytesRead } = await input.read(run.buffer, 0, length, position);
      if (bytesRead === 0) break;
      // The target is new, so a hole reads as zeros too: skipping keeps sparse sources sparse.
      if (!isAllZero(run.buffer, bytesRead)) await writeFully(output, run.buffer, bytesRead, position);
      position += bytesRead;
      run.onBytes(bytesRead);
    }
    if (position !== size) {
      throw new PopulationFailure("GoldenContentInvalid", "a golden file shrank while it was copied");
    }
    // Sets the length when the file ends in a hole.
    await output.truncate(size);
  } finally {
    await output.close();
  }
}

/** Writes `length` bytes of `buffer` at `position`, however many calls the kernel needs. */
export async function writeFully(
  file: FileHandle,
  buffer: Buffer,
  length: number,
  position: number,
): Promise<void> {
  let written = 0;
  while (written < length) {
    const { bytesWritten } = await file.write(buffer, written, length - written, position + written);
    written += bytesWritten;
  }
}
