import type { PopulateContext } from "@volpop/sdk";
import { fillBlock } from "./copy/fill-block.ts";
import { fillFilesystem } from "./copy/fill-filesystem.ts";
import { PopulationFailure } from "./copy/population-failure.ts";
import type { CopyProgress } from "./copy/progress.ts";
import type { GoldenContentSpec } from "./golden-content.ts";
import { locateGolden } from "./golden-path.ts";
import { GOLDEN_MOUNT_PATH } from "./populator.ts";

/** Marks the volume when the pod is run by hand, without the controller's operation id. */
const FALLBACK_OPERATION_ID = "populator-pod";

export interface PopulateFlags {
  readonly "golden-dir"?: string | undefined;
  readonly "operation-id"?: string | undefined;
}

/**
 * Populate mode, inside the populator pod: the same fill as the fast-path backend (copy/), from the
 * golden directory mounted read-only. Files belong to the pod's user (it cannot chown), which is the
 * one difference from the backend's copy.
 */
export async function populateGoldenContent(
  context: Pick<
    PopulateContext<GoldenContentSpec, PopulateFlags>,
    "target" | "spec" | "extra" | "reportProgress"
  >,
): Promise<void> {
  const { target, spec, extra } = context;
  const golden = locateGolden(extra["golden-dir"] ?? GOLDEN_MOUNT_PATH, spec.content);
  const onProgress = (progress: CopyProgress) =>
    context.reportProgress({
      bytesDone: progress.bytesDone,
      ...(progress.bytesTotal === undefined ? {} : { bytesTotal: progress.bytesTotal }),
      ...(progress.bytesTotal
        ? { percent: Math.floor((100 * progress.bytesDone) / progress.bytesTotal) }
        : {}),
      message: `copying golden content ${spec.content}`,
    });
  try {
    if (target.kind === "device") {
      await fillBlock({ goldenImage: golden.imageFile, target: target.path, onProgress });
    } else {
      await fillFilesystem({
        goldenTree: golden.treeDir,
        volumeDir: target.path,
        operationId: extra["operation-id"] || FALLBACK_OPERATION_ID,
        preserveOwnership: false,
        onProgress,
      });
    }
  } catch (error) {
    // The reason leads the termination message, which the controller shows on the user's PVC.
    if (error instanceof PopulationFailure)
      throw new Error(`${error.reason}: ${error.message}`, { cause: error });
    throw error;
  }
  context.reportProgress({ percent: 100, message: `copied golden content ${spec.content}` });
}
