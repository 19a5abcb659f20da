/**
 * Filesystem volumes: the image's layers applied in order into the mounted directory, each read
 * straight from the registry through decompression into the {@link LayerApplier}, which refuses
 * anything that would leave the volume.
 */

import { type ApplyTotals, LayerApplier, type PulledImage } from "@volpop/oci";
import type { ImageSourceSpec } from "../image-source.ts";
import { PopulateError, PopulateErrorCode } from "./errors.ts";
import type { FillHooks } from "./fill-hooks.ts";
import { checkOwnerApplicable } from "./owner-check.ts";

/** Writes `image` into `directory` (an empty volume root) as `spec` says; resolves with what was written. */
export async function fillDirectory(
  image: PulledImage,
  directory: string,
  spec: ImageSourceSpec,
  hooks: FillHooks,
): Promise<ApplyTotals> {
  await checkOwnerApplicable(directory, spec);
  const applier = new LayerApplier({
    target: directory,
    limits: spec.limits,
    subPath: spec.path,
    owner: spec.owner,
    fileMode: spec.fileMode,
    dirMode: spec.dirMode,
    onProgress: (bytes) => hooks.written(bytes),
  });
  for (const [index, layer] of image.layers.entries()) {
    hooks.layer(index, image.layers.length, layer);
    // Resolves only once the layer's blob has ended, its digest and size verified.
    await applier.applyLayer(image.openLayer(layer));
  }
  const totals = await applier.finish();
  const written = totals.files + totals.directories + totals.symlinks + totals.hardLinks;
  if (spec.path !== undefined && written === 0) {
    throw new PopulateError(
      PopulateErrorCode.PathNotInImage,
      `spec.path ${JSON.stringify(spec.path)} holds nothing in the image (no such directory, or an empty one)`,
    );
  }
  return totals;
}
