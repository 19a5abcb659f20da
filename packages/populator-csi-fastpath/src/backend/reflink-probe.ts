import { constants } from "node:fs";
import { copyFile, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";

/**
 * Whether golden files can be reflinked into volumes, for GetBackendInfo's data movements: both
 * directories on one filesystem, and that filesystem clones (btrfs, XFS with reflink=1, ...). Tries a
 * clone in a temporary directory in `stateDir`, removed at once. Copies learn it again for themselves.
 */
export async function probeReflink(stateDir: string, goldenDir: string): Promise<boolean> {
  const [state, golden] = await Promise.all([stat(stateDir), stat(goldenDir)]);
  if (state.dev !== golden.dev) return false;
  let dir: string | undefined;
  try {
    dir = await mkdtemp(path.join(stateDir, ".volpop-fastpath-probe-"));
    const source = path.join(dir, "a");
    await writeFile(source, "reflink probe\n");
    await copyFile(source, path.join(dir, "b"), constants.COPYFILE_FICLONE_FORCE);
    return true;
  } catch {
    return false;
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}
