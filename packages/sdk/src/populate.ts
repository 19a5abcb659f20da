import fs from "node:fs";
import type { Logger } from "./logger.ts";
import { DEFAULT_DEVICE_PATH, DEFAULT_MOUNT_PATH } from "./populator.ts";
import { formatProgressLine, type Progress } from "./progress.ts";

/** Where the populator pod writes: the mounted directory (Filesystem) or the raw device (Block). */
export type PopulateTarget =
  | { readonly kind: "directory"; readonly path: string }
  | { readonly kind: "device"; readonly path: string };

/** What `populate` mode hands the populator's code inside the pod. */
export interface PopulateContext<Spec = unknown, Extra = Record<never, never>> {
  readonly target: PopulateTarget;
  /**
   * The source's spec, as the controller checked it and populate mode checked it again with the
   * populator's own `validate` (it came through the pod spec: see spec-env.ts).
   */
  readonly spec: Spec;
  /** The populator's own flags: the cluster admin's settings, never the source's. */
  readonly extra: Extra;
  /** Aborted when the pod is told to stop (SIGTERM), as a function strategy's `signal` is. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /** Reports progress; the controller shows it on the user's PVC. Cheap enough to call often. */
  reportProgress(progress: Progress): void;
}

/**
 * The env var that points populate mode at another target than the pod's: a directory or a block
 * device, for running a populator by hand outside a pod
 * (`VOLPOP_TARGET=/tmp/out VOLPOP_SPEC='{…}' node main.js --mode=populate`). The controller never sets it.
 */
export const TARGET_ENV = "VOLPOP_TARGET";

/** Where {@link detectTarget} looks: both paths are `$VOLPOP_TARGET` when it is set, else upstream's. */
export function targetPaths(env: NodeJS.ProcessEnv = process.env): {
  devicePath?: string;
  mountPath?: string;
} {
  const target = env[TARGET_ENV];
  return target ? { devicePath: target, mountPath: target } : {};
}

/**
 * Finds the target the controller attached: the block device at upstream's device path if present,
 * else the directory at upstream's mount path.
 */
export function detectTarget(paths: { devicePath?: string; mountPath?: string } = {}): PopulateTarget {
  const devicePath = paths.devicePath ?? DEFAULT_DEVICE_PATH;
  const mountPath = paths.mountPath ?? DEFAULT_MOUNT_PATH;
  const device = statOrUndefined(devicePath);
  if (device?.isBlockDevice()) return { kind: "device", path: devicePath };
  const directory = statOrUndefined(mountPath);
  if (directory?.isDirectory()) return { kind: "directory", path: mountPath };
  throw new Error(
    `neither a block device at ${devicePath} nor a directory at ${mountPath}: is the target volume attached?`,
  );
}

function statOrUndefined(path: string): fs.Stats | undefined {
  try {
    return fs.statSync(path);
  } catch {
    return undefined;
  }
}

/** Reports progress as a line on stdout (see progress.ts), at most once a second unless it is final. */
export function progressReporter(
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
) {
  let last = 0;
  return (progress: Progress): void => {
    const now = Date.now();
    const final =
      progress.percent === 100 ||
      (progress.bytesTotal !== undefined && progress.bytesDone === progress.bytesTotal);
    if (!final && now - last < 1000) return;
    last = now;
    write(formatProgressLine(progress));
  };
}
