#!/usr/bin/env node
/**
 * One population by @volpop/populator-image's populate mode, alone in its process so that
 * bench/image.ts can measure its wall time and peak RSS from outside (GNU time), as it would be in the
 * populator pod. The spec arrives the way the pod gets it, in $VOLPOP_IMAGE_SOURCE; the volume is the
 * one argument, an empty directory. Prints the result as one JSON line.
 */
import { populateImage } from "@volpop/populator-image";

const [target] = process.argv.slice(2);
if (target === undefined) {
  process.stderr.write("usage: image-child.ts <empty target directory>\n");
  process.exit(2);
}
const result = await populateImage({
  target: { kind: "directory", path: target },
  // Progress is only for the PVC's status: nothing to measure here.
  reportProgress: () => undefined,
});
process.stdout.write(`${JSON.stringify(result)}\n`);
