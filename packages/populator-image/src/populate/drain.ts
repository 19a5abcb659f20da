import type { Readable } from "node:stream";

/**
 * Reads whatever the tar reader left of a layer. A layer's digest is checked at the blob's last
 * byte, so a layer counts as applied only once every byte of it has been read and verified.
 */
export async function drained(tar: Readable): Promise<void> {
  if (tar.readableEnded || tar.destroyed) return;
  for await (const _chunk of tar) {
    // discarded: past the end of the archive
  }
}
