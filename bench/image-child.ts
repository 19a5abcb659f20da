#!/usr/bin/env node
/**
 * One population by @volpop/populator-image's populate mode, alone in its process so that
 * bench/image.ts can measure its wall time and peak RSS from outside (GNU time), as it would be in the
 * populator pod. The spec arrives the way the pod gets it, in $VOLPOP_SPEC, and is checked as populate mode does; the volume is the
 * one argument, an empty directory. Prints the result as one JSON line, with how the process's time
 * and memory split between starting (Node, then loading the package and the SDK it imports, from
 * TypeScript source) and populating, which GNU time alone cannot tell apart.
 */
import { imageSourceSpec, populateImage } from "@volpop/populator-image";
import { readSpec } from "@volpop/sdk";

// performance.now() counts from the process's start: this is Node's boot plus every import above.
const loadedMs = performance.now();
const rssAfterLoadBytes = process.memoryUsage().rss;

const [target] = process.argv.slice(2);
if (target === undefined) {
  process.stderr.write("usage: image-child.ts <empty target directory>\n");
  process.exit(2);
}
const began = performance.now();
const result = await populateImage({
  target: { kind: "directory", path: target },
  spec: readSpec(imageSourceSpec.validate),
  // Progress is only for the PVC's status: nothing to measure here.
  reportProgress: () => undefined,
});
const populateMs = performance.now() - began;
process.stdout.write(`${JSON.stringify({ result, loadedMs, populateMs, rssAfterLoadBytes })}\n`);
