/**
 * Bounds on what one image may put into a volume, so that a hostile or accidental tar bomb fails
 * fast with a clear error instead of filling the disk or exhausting inodes.
 */
import { ApplyOptionsError } from "./errors.ts";

export interface ExtractLimits {
  /**
   * Bytes of the layers once decompressed, across all layers: file data, headers, padding, entries
   * skipped or outside `subPath`, and whatever follows the end of an archive all count. A file
   * that would take the count past it is refused from its header, before a byte is written.
   */
  readonly maxBytes: number;
  /**
   * Tar entries read across all layers (whiteouts, skipped entries and global PAX headers
   * included) plus the directories made implicitly for them: it bounds the inodes an image makes.
   */
  readonly maxEntries: number;
  /** Bytes in an entry's name or link target as the header gives it (Linux's PATH_MAX is 4096). */
  readonly maxPathLength: number;
  /** Path components in an entry's name once `.` and `..` are resolved. */
  readonly maxDepth: number;
}

export const DEFAULT_LIMITS: ExtractLimits = Object.freeze({
  maxBytes: 10 * 1024 ** 3,
  maxEntries: 1_000_000,
  maxPathLength: 4096,
  maxDepth: 128,
});

/** Some limits; an absent or undefined one takes its default. */
export type ExtractLimitOverrides = { readonly [K in keyof ExtractLimits]?: number | undefined };

/** Fills in the defaults; a limit that is not a positive safe integer is a configuration error. */
export function resolveLimits(limits: ExtractLimitOverrides = {}): ExtractLimits {
  const resolved = { ...DEFAULT_LIMITS, ...definedOnly(limits) };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new ApplyOptionsError(`extract limit ${name} must be a positive integer, got ${String(value)}`);
    }
  }
  return resolved;
}

// `{ maxBytes: undefined }` means "use the default", not "no limit".
function definedOnly(limits: ExtractLimitOverrides): Partial<ExtractLimits> {
  return Object.fromEntries(Object.entries(limits).filter(([, value]) => value !== undefined));
}
