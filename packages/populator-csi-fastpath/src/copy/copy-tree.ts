import { mkdir, readlink, symlink } from "node:fs/promises";
import path from "node:path";
import {
  copyRegularFile,
  DEFAULT_CHUNK_BYTES,
  DEFAULT_WHOLE_FILE_LIMIT,
  type FileCopyRun,
} from "./copy-file.ts";
import { unsupportedEntry } from "./measure.ts";
import { applyMetadata } from "./metadata.ts";
import type { Pacer } from "./pacer.ts";
import { isAbort, toPopulationFailure } from "./population-failure.ts";
import { type TreeEntry, walkTree } from "./walk.ts";

export interface CopyTreeOptions {
  readonly signal?: AbortSignal | undefined;
  /** Give copies the golden entries' owners (needs CAP_CHOWN); otherwise they belong to the copier. */
  readonly preserveOwnership: boolean;
  readonly onBytes: (bytes: number) => void;
  /** See {@link copyRegularFile}. */
  readonly wholeFileLimit?: number | undefined;
  readonly chunkBytes?: number | undefined;
  /** Copy unpaced files above `wholeFileLimit` with coreutils `cp` when present. Default true. */
  readonly kernelCopy?: boolean | undefined;
  /** Holds the copy to a byte rate (one pacer for the whole tree, so the rate spans files). */
  readonly pacer?: Pacer | undefined;
}

export interface CopyTreeResult {
  readonly clonedBytes: number;
  readonly copiedBytes: number;
  readonly entries: number;
}

/**
 * Copies the tree below `sourceRoot` into the existing directory `targetRoot`, whose own mode and
 * owner stay as the CSI driver made them. Every target entry is created new (mkdir, O_EXCL, symlink
 * all fail on anything already there), so nothing in the target is overwritten or followed. Symlinks
 * are copied as links with their target text unchanged; hard links become separate files.
 */
export async function copyTree(
  sourceRoot: string,
  targetRoot: string,
  options: CopyTreeOptions,
): Promise<CopyTreeResult> {
  const buffer = Buffer.allocUnsafe(options.chunkBytes ?? DEFAULT_CHUNK_BYTES);
  const wholeFileLimit = options.wholeFileLimit ?? DEFAULT_WHOLE_FILE_LIMIT;
  const run: FileCopyRun = {
    signal: options.signal,
    // A whole file goes at kernel speed once taken: under a limit, only files of one chunk may, so
    // a 32 MiB file cannot go out as one burst (and a cancel still lands within a chunk's wait).
    wholeFileLimit: options.pacer ? Math.min(wholeFileLimit, buffer.length) : wholeFileLimit,
    buffer,
    clone: "unknown",
    pacer: options.pacer,
    kernelCopy: options.kernelCopy ?? true,
    onBytes: options.onBytes,
  };
  let clonedBytes = 0;
  let copiedBytes = 0;
  let entries = 0;
  // Directories get their mode and times after their contents: a read-only directory must still be
  // filled, and adding entries would change its mtime.
  const directories: TreeEntry[] = [];
  for await (const entry of walkTree(sourceRoot, options.signal)) {
    const target = path.join(targetRoot, entry.relative);
    try {
      switch (entry.kind) {
        case "directory":
          await mkdir(target, { mode: 0o700 });
          directories.push(entry);
          break;
        case "file": {
          const how = await copyRegularFile(entry, target, run);
          if (how === "clone") clonedBytes += entry.stats.size;
          else copiedBytes += entry.stats.size;
          await applyMetadata(target, entry.stats, "file", options.preserveOwnership);
          break;
        }
        case "symlink":
          await symlink(await readlink(entry.path), target);
          await applyMetadata(target, entry.stats, "symlink", options.preserveOwnership);
          break;
        case "other":
          throw unsupportedEntry(entry.relative);
      }
    } catch (error) {
      if (isAbort(error)) throw error;
      throw toPopulationFailure(error, `copying ${JSON.stringify(entry.relative)}`);
    }
    entries++;
  }
  for (const directory of directories.reverse()) {
    options.signal?.throwIfAborted();
    try {
      await applyMetadata(
        path.join(targetRoot, directory.relative),
        directory.stats,
        "directory",
        options.preserveOwnership,
      );
    } catch (error) {
      throw toPopulationFailure(error, `setting the mode of ${JSON.stringify(directory.relative)}`);
    }
  }
  return { clonedBytes, copiedBytes, entries };
}
