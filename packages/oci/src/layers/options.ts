/**
 * The applier's one config object, documented field by field, and the statistics it reports.
 * Options are checked when the applier is built, before any layer is downloaded.
 */
import path from "node:path";
import { entryComponents } from "./entry-name.ts";
import { ApplyOptionsError } from "./errors.ts";
import { type ExtractLimitOverrides, type ExtractLimits, resolveLimits } from "./limits.ts";
import { MAX_ID, type MetadataPolicy, type Ownership } from "./metadata.ts";
import type { XattrWriter } from "./xattrs.ts";

/** How a {@link LayerApplier} writes an image's layers into a volume. */
export interface ApplyOptions {
  /** The volume root: an existing directory. Nothing outside it is ever created, changed or removed. */
  readonly target: string;
  /** Overrides of {@link DEFAULT_LIMITS}; they count across all layers, after decompression. */
  readonly limits?: ExtractLimitOverrides | undefined;
  /**
   * Extract only this directory of the image (e.g. `/models`), re-rooted at `target`. Matched
   * against entry names as written, without following symlinks in the image. A layer that
   * removes it or replaces it with a non-directory clears what lower layers put in `target`.
   */
  readonly subPath?: string | undefined;
  /** Give every entry this owner. Default: the tar's uid/gid when `preserveOwnership`, else untouched. */
  readonly owner?: Ownership | undefined;
  /** Keep the tar's uid/gid when no `owner` is forced. Default: whether the process runs as root. */
  readonly preserveOwnership?: boolean | undefined;
  /** Permission bits for every regular file, instead of the tar's. */
  readonly fileMode?: number | undefined;
  /** Permission bits for every directory, instead of the tar's (and 0755 for implicit ones). */
  readonly dirMode?: number | undefined;
  /**
   * Keep setuid/setgid bits and the `security.capability` xattr. Default false: they are
   * dropped (and counted), since the volume is data other pods mount, not a root filesystem.
   */
  readonly keepPrivileges?: boolean | undefined;
  /** Sets xattrs (Node cannot); without one, xattrs in the image are counted as skipped. */
  readonly xattrWriter?: XattrWriter | undefined;
  /** Called as file data reaches the disk, with the total bytes written across all layers. */
  readonly onProgress?: ((bytesWritten: number) => void) | undefined;
}

/** What applying one layer, or all of them so far, did. */
export interface ApplyStats {
  /** Tar entries read, whiteouts, skipped entries and global PAX headers included. */
  readonly entries: number;
  /**
   * Directories made because an entry needed them: its missing parents, or the missing
   * directories along a symlink it is written through. With `entries`, bounded by maxEntries.
   */
  readonly implicitDirectories: number;
  /**
   * Bytes of the uncompressed layers read: headers, data, padding, and whatever follows the end of
   * the archive, for entries written and skipped alike. Bounded by maxBytes.
   */
  readonly layerBytes: number;
  readonly files: number;
  readonly directories: number;
  readonly symlinks: number;
  readonly hardLinks: number;
  /** Whiteout and opaque markers acted on. */
  readonly whiteouts: number;
  /** Entries outside `subPath`, AUFS metadata and root directory entries: read but not written. */
  readonly skipped: number;
  /** Regular-file bytes written. */
  readonly bytes: number;
  readonly xattrs: number;
  /** Xattrs not written: no writer, a namespace not allowed, an unreadable value, ENOTSUP or EPERM. */
  readonly xattrsSkipped: number;
  /** Entries whose setuid/setgid bits were dropped. */
  readonly setidDropped: number;
}

export interface ApplyTotals extends ApplyStats {
  readonly layers: number;
}

export const EMPTY_STATS: ApplyStats = Object.freeze({
  entries: 0,
  implicitDirectories: 0,
  layerBytes: 0,
  files: 0,
  directories: 0,
  symlinks: 0,
  hardLinks: 0,
  whiteouts: 0,
  skipped: 0,
  bytes: 0,
  xattrs: 0,
  xattrsSkipped: 0,
  setidDropped: 0,
});

/** The options once checked, with their defaults filled in. */
export interface CheckedOptions {
  /** Absolute. */
  readonly target: string;
  readonly limits: ExtractLimits;
  /** Components of `subPath`; empty for the whole image. */
  readonly subPath: readonly string[];
  readonly policy: MetadataPolicy;
}

/** Checks `options` and fills in the defaults; throws an {@link ApplyOptionsError}. */
export function checkOptions(options: ApplyOptions): CheckedOptions {
  if (typeof options.target !== "string" || options.target === "") {
    throw new ApplyOptionsError("the target directory is required");
  }
  return {
    target: path.resolve(options.target),
    limits: resolveLimits(options.limits),
    subPath: checkedSubPath(options.subPath),
    policy: {
      owner: checkedOwner(options.owner),
      preserveOwnership: options.preserveOwnership ?? process.getuid?.() === 0,
      fileMode: checkedMode("fileMode", options.fileMode),
      dirMode: checkedMode("dirMode", options.dirMode),
      keepPrivileges: options.keepPrivileges ?? false,
    },
  };
}

function checkedSubPath(subPath: string | undefined): readonly string[] {
  if (subPath === undefined) return [];
  try {
    return entryComponents(subPath);
  } catch {
    throw new ApplyOptionsError(`subPath ${JSON.stringify(subPath)} must stay inside the image`);
  }
}

function checkedMode(field: string, mode: number | undefined): number | undefined {
  if (mode === undefined) return undefined;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw new ApplyOptionsError(`${field} must be permission bits between 0 and 0o7777, got ${mode}`);
  }
  return mode;
}

function checkedOwner(owner: Ownership | undefined): Ownership | undefined {
  if (owner === undefined) return undefined;
  for (const id of [owner.uid, owner.gid]) {
    if (!Number.isSafeInteger(id) || id < 0 || id > MAX_ID) {
      throw new ApplyOptionsError(`owner ids must be integers between 0 and ${MAX_ID}, got ${id}`);
    }
  }
  return owner;
}
