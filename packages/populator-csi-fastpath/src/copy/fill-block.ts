import { constants } from "node:fs";
import { type FileHandle, lstat, open } from "node:fs/promises";
import path from "node:path";
import { blockTargetSize } from "@volpop/sdk";
import { DEFAULT_CHUNK_BYTES, writeFully } from "./copy-file.ts";
import type { FillResult } from "./fill-result.ts";
import { bandwidthPacer } from "./pacer.ts";
import { isAbort, PopulationFailure, toPopulationFailure } from "./population-failure.ts";
import type { ProgressListener } from "./progress.ts";
import { isAllZero } from "./zero.ts";

export interface FillBlockOptions {
  /** The golden image, `<golden dir>/<content>.img`. */
  readonly goldenImage: string;
  /** The volume: the driver's image file (backend) or the block device (populator pod). */
  readonly target: string;
  /** The PV's capacity, checked as well as the target's own size. */
  readonly capacityBytes?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ProgressListener | undefined;
  readonly chunkBytes?: number | undefined;
  /**
   * Bytes of the image written per second at most, so a population leaves the storage to other
   * workloads too; undefined or 0: no limit. Holes count like data: the volume is read to compare.
   */
  readonly maxBytesPerSecond?: number | undefined;
  /** Reads sysfs for a block device's size (replaced in tests). */
  readonly readSysfs?: (file: string) => Promise<string>;
}

/**
 * Writes the golden image over the start of a Block volume. The volume keeps its size (never
 * truncated or grown) and its bytes past the image. A chunk of zeros is only written where the volume
 * does not already read as zeros, so a sparse image leaves a fresh (sparse) volume sparse.
 *
 * There is no marker here: a block volume has no spare place for one. Rewriting the same bytes is
 * harmless, so a restarted copy simply starts over; what guards someone's data is that the controller
 * only asks to fill volumes it provisioned for the purpose.
 */
export async function fillBlock(options: FillBlockOptions): Promise<FillResult> {
  const { signal } = options;
  const name = JSON.stringify(path.basename(options.goldenImage));
  const goldenStats = await lstat(options.goldenImage).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw toPopulationFailure(error, `reading golden image ${name}`);
  });
  if (goldenStats === undefined) {
    throw new PopulationFailure("GoldenContentNotFound", `there is no golden image ${name} on this node`);
  }
  if (!goldenStats.isFile()) {
    throw new PopulationFailure("GoldenContentInvalid", `golden image ${name} is not a regular file`);
  }
  try {
    const golden = await open(options.goldenImage, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const volume = await open(options.target, constants.O_RDWR | constants.O_NOFOLLOW);
      try {
        const size = goldenStats.size;
        const room = await blockTargetSize(volume, options.readSysfs);
        const limit = Math.min(
          room ?? Number.POSITIVE_INFINITY,
          options.capacityBytes ?? Number.POSITIVE_INFINITY,
        );
        if (size > limit) {
          throw new PopulationFailure(
            "VolumeTooSmall",
            `the golden image holds ${size} bytes, more than the volume's ${limit}`,
          );
        }
        options.onProgress?.({ bytesDone: 0, bytesTotal: size });
        const chunk = Buffer.allocUnsafe(options.chunkBytes ?? DEFAULT_CHUNK_BYTES);
        const existing = Buffer.allocUnsafe(chunk.length);
        const pacer = bandwidthPacer(options.maxBytesPerSecond);
        let position = 0;
        while (position < size) {
          signal?.throwIfAborted();
          const length = Math.min(chunk.length, size - position);
          await pacer?.take(length, signal);
          const { bytesRead } = await golden.read(chunk, 0, length, position);
          if (bytesRead === 0) {
            throw new PopulationFailure(
              "GoldenContentInvalid",
              `golden image ${name} shrank while it was copied`,
            );
          }
          if (!isAllZero(chunk, bytesRead) || !(await readsAsZeros(volume, existing, bytesRead, position))) {
            await writeFully(volume, chunk, bytesRead, position);
          }
          position += bytesRead;
          options.onProgress?.({ bytesDone: position, bytesTotal: size });
        }
        await volume.datasync();
        return { movement: "copy", bytes: size, entries: 0 };
      } finally {
        await volume.close();
      }
    } finally {
      await golden.close();
    }
  } catch (error) {
    if (isAbort(error)) throw error;
    throw toPopulationFailure(error, "filling the block volume");
  }
}

/** Whether the volume already reads as zeros where a chunk of zeros would go. */
async function readsAsZeros(volume: FileHandle, buffer: Buffer, length: number, position: number) {
  const { bytesRead } = await volume.read(buffer, 0, length, position);
  return bytesRead === length && isAllZero(buffer, length);
}
