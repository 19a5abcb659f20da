/**
 * A folder for secrets a command needs on disk for a while (a registry login for buildah): created
 * in the user's runtime folder when there is one (`$XDG_RUNTIME_DIR`: tmpfs, the user's alone) else
 * the temp folder, mode 0700, and removed however the work ends: done, failed, or interrupted by
 * SIGINT (Ctrl-C) or SIGTERM, after which the signal takes its usual course.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export async function withPrivateScratch<T>(prefix: string, use: (dir: string) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(process.env.XDG_RUNTIME_DIR || os.tmpdir(), prefix));
  const remove = () => fs.rmSync(dir, { recursive: true, force: true });
  const onSignal = (signal: NodeJS.Signals) => {
    remove();
    process.kill(process.pid, signal);
  };
  process.once("SIGINT", onSignal).once("SIGTERM", onSignal).once("exit", remove);
  try {
    return await use(dir);
  } finally {
    process.off("SIGINT", onSignal).off("SIGTERM", onSignal).off("exit", remove);
    remove();
  }
}
