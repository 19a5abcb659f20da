/**
 * Block volumes: the disk image file `spec.blockFile` copied raw onto the device from its first
 * byte. Layers are read from the top down, since the topmost layer that mentions the file decides
 * (a whiteout there means it is gone), so a disk image in the last layer costs one layer's download.
 */
import fs, { type FileHandle } from "node:fs/promises";
import {
  DEFAULT_LIMITS,
  type Descriptor,
  ExtractLimitError,
  type PulledImage,
  readTarEntries,
} from "@volpop/oci";
import { blockTargetSize as deviceSize } from "@volpop/sdk";
import type { ImageSourceSpec } from "../image-source.ts";
import { blockFileComponents, blockFileEffect } from "./block-file.ts";
import { shortDigest } from "./describe-failure.ts";
import { PopulateError, PopulateErrorCode } from "./errors.ts";
import type { FillHooks } from "./fill-hooks.ts";

/** What {@link fillDevice} wrote. */
export interface DeviceFill {
  /** Bytes of the block file, written from offset 0. */
  readonly bytes: number;
  /** The layer it came from. */
  readonly layer: Descriptor;
}

const ZEROS = Buffer.alloc(1024 * 1024);
const GIB = 1024 ** 3;

/**
 * How many bytes the layers read may hold once decompressed, headers, other files and whatever
 * follows the end of an archive included: a small layer that inflates to terabytes would otherwise
 * burn CPU until the deadline. `spec.limits.maxBytes` if the ImageSource sets one; else the device's
 * capacity plus 10% and 1 GiB (room for the other files of the layers read); else, when the capacity
 * is unknown, Filesystem mode's default ({@link DEFAULT_LIMITS}.maxBytes, 10 GiB).
 */
export function deviceByteCap(spec: Pick<ImageSourceSpec, "limits">, capacity: number | undefined): number {
  if (spec.limits?.maxBytes !== undefined) return spec.limits.maxBytes;
  if (capacity === undefined) return DEFAULT_LIMITS.maxBytes;
  return capacity + Math.ceil(capacity / 10) + GIB;
}

/**
 * Writes `spec.blockFile` of `image` to the device (or file) at `devicePath`. On failure, the bytes
 * this attempt wrote are zeroed again (best effort), so that a half-written disk image is never
 * mistaken for a good one. The rest of the device is left as it is.
 */
export async function fillDevice(
  image: PulledImage,
  devicePath: string,
  spec: ImageSourceSpec,
  hooks: FillHooks,
): Promise<DeviceFill> {
  if (spec.blockFile === undefined) {
    throw new PopulateError(
      PopulateErrorCode.BlockFileRequired,
      "spec.blockFile is required for a Block volume: name the disk image file in the image to write to the device",
    );
  }
  const quoted = JSON.stringify(spec.blockFile);
  const wanted = blockFileComponents(spec.blockFile);
  const device = await fs.open(devicePath, "r+");
  // How far from the start of the device this attempt has written: what to zero if it fails.
  let dirty = 0;
  try {
    const capacity = await deviceSize(device);
    const maxBytes = deviceByteCap(spec, capacity);
    let read = 0;
    // Every decompressed byte of every layer read counts, as in Filesystem mode: a bomb of zeros too.
    const onBytes = (bytes: number, entry: string | undefined): void => {
      read += bytes;
      if (read > maxBytes) {
        throw new ExtractLimitError(
          entry,
          "maxBytes",
          maxBytes,
          `the layers hold more than ${maxBytes} bytes once decompressed`,
        );
      }
    };
    const layers = image.layers;
    for (let index = layers.length - 1; index >= 0; index--) {
      const layer = layers[index] as Descriptor;
      const where = `layer ${index + 1} of ${layers.length} (${shortDigest(layer.digest)})`;
      hooks.layer(index, layers.length, layer);
      const tar = image.openLayer(layer);
      // In one layer, the last entry for a path wins, as in extraction.
      let fileBytes: number | undefined;
      let replacedBy: string | undefined;
      let hidesLower = false;
      // The loop ends only once the layer's blob has ended, its digest and size verified.
      for await (const { header, body } of readTarEntries(tar, { onBytes })) {
        if (header.type === "pax-global-header") continue;
        const effect = blockFileEffect(header.name, header.type, wanted);
        if (effect.kind === "file") {
          const size = header.size ?? 0;
          if (capacity !== undefined && size > capacity) {
            throw new PopulateError(
              PopulateErrorCode.BlockFileTooLarge,
              `spec.blockFile ${quoted} is ${size} bytes, larger than the ${capacity}-byte volume: request a larger PVC`,
            );
          }
          fileBytes = await writeFromStart(device, body, quoted, (written) => {
            dirty = Math.max(dirty, written);
            hooks.written(written);
          });
          replacedBy = undefined;
        } else if (effect.kind === "replaced") {
          fileBytes = undefined;
          replacedBy = effect.by;
        } else if (effect.kind === "hides-lower") {
          hidesLower = true;
        }
      }
      if (fileBytes !== undefined) {
        // An earlier, longer copy of the file in this same layer: its tail is not the file's.
        if (dirty > fileBytes) await zero(device, fileBytes, dirty);
        await device.sync();
        return { bytes: fileBytes, layer };
      }
      if (replacedBy !== undefined) {
        throw new PopulateError(
          PopulateErrorCode.BlockFileNotRegular,
          `spec.blockFile ${quoted} is not a regular file in the image: ${where} puts ${replacedBy} there`,
        );
      }
      if (hidesLower) {
        throw new PopulateError(
          PopulateErrorCode.BlockFileNotFound,
          `spec.blockFile ${quoted} is not in the image: ${where} deletes it`,
        );
      }
    }
    throw new PopulateError(
      PopulateErrorCode.BlockFileNotFound,
      `spec.blockFile ${quoted} is not in the image`,
    );
  } catch (error) {
    if (dirty > 0) await zero(device, 0, dirty).catch(() => undefined);
    throw error;
  } finally {
    await device.close();
  }
}

async function writeFromStart(
  device: FileHandle,
  body: AsyncIterable<Buffer>,
  quoted: string,
  written: (bytes: number) => void,
): Promise<number> {
  let position = 0;
  for await (const chunk of body) {
    let offset = 0;
    while (offset < chunk.byteLength) {
      let bytesWritten: number;
      try {
        ({ bytesWritten } = await device.write(chunk, offset, chunk.byteLength - offset, position));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
        throw new PopulateError(
          PopulateErrorCode.BlockFileTooLarge,
          `spec.blockFile ${quoted} is larger than the volume (it ended after ${position} bytes): request a larger PVC`,
          { cause: error },
        );
      }
      offset += bytesWritten;
      position += bytesWritten;
      // After every write, not every chunk: a later write of the same chunk may throw, and the
      // clean-up zeroes only as far as it was told bytes were written.
      written(position);
    }
  }
  return position;
}

async function zero(device: FileHandle, from: number, to: number): Promise<void> {
  for (let position = from; position < to; position += ZEROS.length) {
    await device.write(ZEROS, 0, Math.min(ZEROS.length, to - position), position);
  }
  await device.sync();
}
