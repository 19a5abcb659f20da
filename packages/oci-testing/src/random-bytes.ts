/**
 * Deterministic, incompressible bytes generated on demand: the AES-256-CTR keystream of a seed.
 * Lets tests build images of any size (a 200 MB "model") without storing or holding the data, and
 * compare what was pulled against the same seed.
 */
import { createCipheriv, createHash } from "node:crypto";
import { Readable } from "node:stream";

const CHUNK = 64 * 1024;
const ZEROS = Buffer.alloc(CHUNK);

/** A stream of exactly `size` pseudo-random bytes, the same for the same `seed`. */
export function randomBytesStream(size: number, seed = "volpop"): Readable {
  const key = createHash("sha256").update(seed).digest();
  const cipher = createCipheriv("aes-256-ctr", key, Buffer.alloc(16));
  let remaining = size;
  return new Readable({
    highWaterMark: CHUNK,
    read() {
      if (remaining <= 0) {
        this.push(null);
        return;
      }
      const length = Math.min(CHUNK, remaining);
      remaining -= length;
      this.push(cipher.update(length === CHUNK ? ZEROS : ZEROS.subarray(0, length)));
    },
  });
}

/** The same bytes as {@link randomBytesStream}, in memory: for small sizes only. */
export function randomBytes(size: number, seed = "volpop"): Buffer {
  const key = createHash("sha256").update(seed).digest();
  return createCipheriv("aes-256-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(size));
}
