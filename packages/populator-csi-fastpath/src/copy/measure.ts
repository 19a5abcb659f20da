import { PopulationFailure } from "./population-failure.ts";
import { walkTree } from "./walk.ts";

export interface TreeSize {
  /** Bytes of regular files: what progress counts and the volume must hold. */
  readonly bytes: number;
  readonly entries: number;
}

/**
 * Sizes a golden tree before copying it, and refuses what the copy would refuse, so that an invalid
 * tree fails before the first byte lands in the volume.
 */
export async function measureTree(root: string, signal?: AbortSignal): Promise<TreeSize> {
  let bytes = 0;
  let entries = 0;
  for await (const entry of walkTree(root, signal)) {
    if (entry.kind === "other") throw unsupportedEntry(entry.relative);
    if (entry.kind === "file") bytes += entry.stats.size;
    entries++;
  }
  return { bytes, entries };
}

/** Devices, fifos and sockets have no business in a volume handed to a user. */
export function unsupportedEntry(relative: string): PopulationFailure {
  return new PopulationFailure(
    "GoldenContentInvalid",
    `golden content entry ${JSON.stringify(relative)} is not a directory, regular file or symlink`,
  );
}
