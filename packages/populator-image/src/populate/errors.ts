/**
 * What populate mode throws. Problems found on the way (a pull secret of the wrong type, a block
 * file that is not in the image) are {@link PopulateError}s said without the image; what leaves
 * populate mode is always one {@link ImagePopulateError}, a sentence naming the image, because the
 * SDK puts its message in the PopulatorFailed event on the user's PVC.
 */
import { VolpopError } from "@volpop/sdk";

/** The `code` of each problem populate mode finds itself; registry and layer errors keep their own. */
export const PopulateErrorCode = {
  PullSecretInvalid: "PULL_SECRET_INVALID",
  CaBundleInvalid: "CA_BUNDLE_INVALID",
  OwnerNotApplicable: "OWNER_NOT_APPLICABLE",
  PathNotInImage: "PATH_NOT_IN_IMAGE",
  BlockFileRequired: "BLOCK_FILE_REQUIRED",
  BlockFileNotFound: "BLOCK_FILE_NOT_FOUND",
  BlockFileNotRegular: "BLOCK_FILE_NOT_REGULAR",
  BlockFileTooLarge: "BLOCK_FILE_TOO_LARGE",
  VolumeFull: "VOLUME_FULL",
  ClearFailed: "CLEAR_FAILED",
  DeadlineExceeded: "POPULATION_DEADLINE_EXCEEDED",
  Failed: "POPULATE_FAILED",
} as const;

/** A problem with the source, its Secrets or the image, in words that make sense after "image X: ". */
export class PopulateError extends VolpopError {
  override name = "PopulateError";

  /** `code` is one of {@link PopulateErrorCode}. */
  constructor(code: string, message: string, options: ErrorOptions = {}) {
    super(code, message, options);
  }
}

/**
 * Population failed: `image <reference>: <what went wrong>`, one line. `code` is the underlying
 * error's (`MANIFEST_NOT_FOUND`, `UNSAFE_LAYER_ENTRY`, `PULL_SECRET_INVALID`…), `cause` the error.
 */
export class ImagePopulateError extends VolpopError {
  override name = "ImagePopulateError";

  constructor(code: string, message: string, options: ErrorOptions = {}) {
    super(code, message, options);
  }
}

/** The population did not finish within its deadline (see `PopulateImageOptions.deadlineMs`). */
export class PopulationDeadlineError extends PopulateError {
  override name = "PopulationDeadlineError";
  /** The deadline, in milliseconds. */
  readonly deadlineMs: number;

  constructor(deadlineMs: number) {
    super(
      PopulateErrorCode.DeadlineExceeded,
      `did not finish within the population deadline of ${formatDuration(deadlineMs)} (the image populator's --population-deadline)`,
    );
    this.deadlineMs = deadlineMs;
  }
}

/** Milliseconds as Go writes a duration, the way the flag takes it: `1h0m0s`, `90s` as `1m30s`, `400ms`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const seconds = ms / 1000;
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = Number((seconds % 60).toFixed(3));
  if (hours > 0) return `${hours}h${minutes}m${rest}s`;
  if (minutes > 0) return `${minutes}m${rest}s`;
  return `${rest}s`;
}
