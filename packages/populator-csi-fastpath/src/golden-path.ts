import path from "node:path";
import { BLOCK_IMAGE_SUFFIX, contentNameProblem } from "./golden-content.ts";

export class GoldenNameError extends Error {
  readonly code = "INVALID_GOLDEN_CONTENT_NAME";
}

export interface GoldenLocation {
  /** The tree copied into Filesystem volumes. */
  readonly treeDir: string;
  /** The image copied over the start of Block volumes. */
  readonly imageFile: string;
}

/** Where golden content `name` lives under `goldenDir`; the name is checked again, whoever passed it. */
export function locateGolden(goldenDir: string, name: string): GoldenLocation {
  const problem = contentNameProblem(name);
  if (problem) throw new GoldenNameError(problem);
  const root = path.resolve(goldenDir);
  const treeDir = path.join(root, name);
  if (path.dirname(treeDir) !== root) throw new GoldenNameError(`golden content name escapes ${root}`);
  return { treeDir, imageFile: `${treeDir}${BLOCK_IMAGE_SUFFIX}` };
}
