/**
 * Finds out before any layer is pulled whether `spec.owner` can be applied. Giving files to another
 * user takes CAP_CHOWN, which populator pods drop; without this check the pull would fail at its
 * first file with a bare EPERM.
 */
import fs from "node:fs/promises";
import path from "node:path";
import type { Ownership } from "../layers/metadata.ts";
import { PopulateError, PopulateErrorCode } from "./errors.ts";

const PROBE = ".volpop-owner-probe";

/** Throws a {@link PopulateError} when this process cannot give a file in `directory` to `owner`. */
export async function checkOwnerApplicable(directory: string, owner: Ownership | undefined): Promise<void> {
  if (owner === undefined) return;
  const probe = path.join(directory, PROBE);
  await fs.writeFile(probe, "", { flag: "wx", mode: 0o600 });
  try {
    await fs.lchown(probe, owner.uid, owner.gid);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EPERM" && code !== "EINVAL") throw error;
    throw new PopulateError(
      PopulateErrorCode.OwnerNotApplicable,
      `spec.owner ${owner.uid}:${owner.gid} cannot be applied: the populator pod runs as uid ${process.getuid?.() ?? "?"} without the CHOWN capability`,
      { cause: error },
    );
  } finally {
    await fs.rm(probe, { force: true });
  }
}
