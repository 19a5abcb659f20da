import { lstat } from "node:fs/promises";
import path from "node:path";
import { copyTree } from "./copy-tree.ts";
import type { FillResult } from "./fill-result.ts";
import { clearVolume, inspectVolume, MARKER_NAME, removeMarker, writeMarker } from "./marker.ts";
import { measureTree } from "./measure.ts";
import { bandwidthPacer } from "./pacer.ts";
import { isAbort, PopulationFailure, toPopulationFailure } from "./population-failure.ts";
import type { ProgressListener } from "./progress.ts";
import { treeMatches } from "./tree-matches.ts";

export interface FillFilesystemOptions {
  /** The golden tree, `<golden dir>/<content>`. */
  readonly goldenTree: string;
  /** The volume's root directory. */
  readonly volumeDir: string;
  /** Written into the marker; the same id finds its own half-done copy after a restart. */
  readonly operationId: string;
  /** Refuse content larger than this (file bytes; metadata overhead is not counted). */
  readonly capacityBytes?: number | undefined;
  readonly preserveOwnership: boolean;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ProgressListener | undefined;
  readonly wholeFileLimit?: number | undefined;
  readonly chunkBytes?: number | undefined;
  /** See copyTree. */
  readonly kernelCopy?: boolean | undefined;
  /**
   * Bytes copied per second at most, so a population leaves the storage to other workloads too;
   * undefined or 0: no limit. Counts every byte of every copied file, holes too; reflinks are free.
   */
  readonly maxBytesPerSecond?: number | undefined;
}

/**
 * Fills a Filesystem volume with a golden tree, the one way both the fast-path backend and the
 * populator pod do it:
 *
 * 1. the volume must be empty, or hold our marker for this operation (a copy that stopped: cleared and
 *    started over), or already match the golden tree (a copy that finished, whose record was lost);
 *    anything else is someone's data and fails with VolumeNotEmpty;
 * 2. the golden tree is measured (progress total, capacity check) before anything is written;
 * 3. the marker is written, the tree copied, the marker removed.
 *
 * Throws {@link PopulationFailure}, or an AbortError when `signal` fires (the marker then stays, so
 * the next try starts over).
 */
export async function fillFilesystem(options: FillFilesystemOptions): Promise<FillResult> {
  const { goldenTree, volumeDir, operationId, signal } = options;
  await requireDirectory(goldenTree);
  if (await lstat(path.join(goldenTree, MARKER_NAME)).catch(() => undefined)) {
    throw new PopulationFailure("GoldenContentInvalid", `golden content must not contain ${MARKER_NAME}`);
  }
  try {
    const contents = await inspectVolume(volumeDir, operationId);
    if (contents.kind === "other-operation") {
      throw new PopulationFailure(
        "VolumeNotEmpty",
        `the volume is being filled by another operation (${JSON.stringify(contents.operationId.slice(0, 128))})`,
      );
    }
    if (contents.kind === "data") {
      if (await treeMatches(goldenTree, volumeDir, signal)) return { movement: "none", bytes: 0, entries: 0 };
      throw new PopulationFailure(
        "VolumeNotEmpty",
        "the volume already holds data that is not this golden content; refusing to overwrite it",
      );
    }
    const size = await measureTree(goldenTree, signal);
    options.onProgress?.({ bytesDone: 0, bytesTotal: size.bytes });
    if (options.capacityBytes !== undefined && size.bytes > options.capacityBytes) {
      throw new PopulationFailure(
        "VolumeTooSmall",
        `the golden content holds ${size.bytes} bytes, more than the volume's ${options.capacityBytes}`,
      );
    }
    if (contents.kind === "ours") await clearVolume(volumeDir);
    else await writeMarker(volumeDir, operationId);
    let bytesDone = 0;
    const copied = await copyTree(goldenTree, volumeDir, {
      signal,
      preserveOwnership: options.preserveOwnership,
      wholeFileLimit: options.wholeFileLimit,
      chunkBytes: options.chunkBytes,
      kernelCopy: options.kernelCopy,
      pacer: bandwidthPacer(options.maxBytesPerSecond),
      onBytes: (bytes) => {
        bytesDone += bytes;
        options.onProgress?.({ bytesDone, bytesTotal: size.bytes });
      },
    });
    await removeMarker(volumeDir);
    const movement = copied.copiedBytes === 0 && copied.clonedBytes > 0 ? "clone" : "copy";
    return { movement, bytes: copied.clonedBytes + copied.copiedBytes, entries: copied.entries };
  } catch (error) {
    if (isAbort(error)) throw error;
    throw toPopulationFailure(error, "filling the volume");
  }
}

async function requireDirectory(goldenTree: string): Promise<void> {
  const name = JSON.stringify(path.basename(goldenTree));
  const stats = await lstat(goldenTree).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw toPopulationFailure(error, `reading golden content ${name}`);
  });
  if (stats === undefined) {
    throw new PopulationFailure(
      "GoldenContentNotFound",
      `there is no golden content tree ${name} on this node`,
    );
  }
  // A symlink is refused rather than followed: it could lead anywhere on the node.
  if (!stats.isDirectory()) {
    throw new PopulationFailure("GoldenContentInvalid", `golden content ${name} is not a directory`);
  }
}
