/**
 * Content digests (`sha256:<hex>`, `sha512:<hex>`): the only thing that ties bytes from a registry
 * to the reference the user trusted, so every byte pulled is checked against one.
 */
import { createHash, type Hash } from "node:crypto";
import { UnsupportedDigestError } from "./errors.ts";

/** Digest algorithms this client can verify, with the length of their hex encoding. */
const HEX_LENGTH = { sha256: 64, sha512: 128 } as const;

export type DigestAlgorithm = keyof typeof HEX_LENGTH;

export interface ParsedDigest {
  readonly algorithm: DigestAlgorithm;
  readonly hex: string;
}

/** Splits and checks a digest; throws {@link UnsupportedDigestError} for anything else. */
export function parseDigest(digest: string): ParsedDigest {
  const colon = digest.indexOf(":");
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  if (colon <= 0 || !(algorithm in HEX_LENGTH)) throw new UnsupportedDigestError(digest);
  const known = algorithm as DigestAlgorithm;
  if (hex.length !== HEX_LENGTH[known] || !/^[0-9a-f]+$/.test(hex)) throw new UnsupportedDigestError(digest);
  return { algorithm: known, hex };
}

/** An incremental digest of a stream of bytes. */
export class Digester {
  readonly algorithm: DigestAlgorithm;
  readonly #hash: Hash;

  constructor(algorithm: DigestAlgorithm = "sha256") {
    this.algorithm = algorithm;
    this.#hash = createHash(algorithm);
  }

  update(chunk: Uint8Array): void {
    this.#hash.update(chunk);
  }

  /** The digest of everything passed to {@link update}; call once. */
  digest(): string {
    return `${this.algorithm}:${this.#hash.digest("hex")}`;
  }
}

/** The digest of bytes held in memory (manifests, configs). */
export function digestOf(bytes: Uint8Array, algorithm: DigestAlgorithm = "sha256"): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest("hex")}`;
}
