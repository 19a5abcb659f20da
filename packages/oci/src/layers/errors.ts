/**
 * Why a layer could not be applied. Every class names the offending tar entry, because the caller
 * reports the message on the user's PVC and "which file?" is the first question anyone asks.
 * They are `VolpopError`s with a stable `code`, so the SDK's normaliser keeps it as it is.
 */
import { VolpopError } from "@volpop/sdk";

/** The `code` of each layer error class. */
export const LayerErrorCode = {
  UnsafeEntry: "UNSAFE_LAYER_ENTRY",
  LimitExceeded: "EXTRACT_LIMIT_EXCEEDED",
  Malformed: "MALFORMED_LAYER",
  InvalidOptions: "INVALID_APPLY_OPTIONS",
} as const;

/** Base of the layer errors: branch on `code`, never on `message`. */
export class LayerError extends VolpopError {
  override name = "LayerError";

  /** `code` is one of {@link LayerErrorCode}. */
  constructor(code: string, message: string, options: ErrorOptions = {}) {
    super(code, message, options);
  }
}

/** The `ApplyOptions` themselves are invalid (a subPath that climbs out, a mode above 0o7777…). */
export class ApplyOptionsError extends LayerError {
  override name = "ApplyOptionsError";

  constructor(message: string, options: ErrorOptions = {}) {
    super(LayerErrorCode.InvalidOptions, message, options);
  }
}

/**
 * An entry that would write outside the volume, plant a device node or FIFO, or link to something
 * it must not. The image is hostile or broken; retrying cannot help.
 */
export class UnsafeEntryError extends LayerError {
  override name = "UnsafeEntryError";

  /** The entry's name exactly as the tar header gave it. */
  readonly entry: string;
  /** Why it was refused, e.g. `escapes the volume`. */
  readonly reason: string;

  constructor(entry: string, reason: string, options: ErrorOptions = {}) {
    super(LayerErrorCode.UnsafeEntry, `layer entry ${JSON.stringify(entry)} rejected: ${reason}`, options);
    this.entry = entry;
    this.reason = reason;
  }
}

/** Which limit an {@link ExtractLimitError} hit: a key of `ExtractLimits`. */
export type ExtractLimitName = "maxBytes" | "maxEntries" | "maxPathLength" | "maxDepth";

/**
 * An entry that would take the extraction past one of its limits (size, count, path length,
 * depth); `entry` is undefined for bytes that belong to no entry (after the end of the archive).
 */
export class ExtractLimitError extends LayerError {
  override name = "ExtractLimitError";

  readonly entry: string | undefined;
  readonly limit: ExtractLimitName;
  /** The limit's configured value. */
  readonly max: number;

  constructor(
    entry: string | undefined,
    limit: ExtractLimitName,
    max: number,
    detail: string,
    options: ErrorOptions = {},
  ) {
    super(
      LayerErrorCode.LimitExceeded,
      `layer ${entry === undefined ? "" : `entry ${JSON.stringify(entry)} `}rejected: exceeds ${limit} (${max}): ${detail}`,
      options,
    );
    this.entry = entry;
    this.limit = limit;
    this.max = max;
  }
}

/**
 * The layer is not something an extractor can apply as written: not a tar stream, an unsupported
 * entry type, a hard link to a file that does not exist, a path whose parent is a regular file.
 * `entry` is undefined when the stream itself is broken.
 */
export class MalformedLayerError extends LayerError {
  override name = "MalformedLayerError";

  readonly entry: string | undefined;

  constructor(entry: string | undefined, reason: string, options: ErrorOptions = {}) {
    super(
      LayerErrorCode.Malformed,
      entry === undefined ? `malformed layer: ${reason}` : `layer entry ${JSON.stringify(entry)}: ${reason}`,
      options,
    );
    this.entry = entry;
  }
}
