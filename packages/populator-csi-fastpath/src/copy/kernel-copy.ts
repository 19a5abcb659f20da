import { execFile, spawn } from "node:child_process";
import { stat } from "node:fs/promises";
import { promisify } from "node:util";

/**
 * Node cannot call copy_file_range(2) (libuv's copyfile uses sendfile, measured ~3× slower than
 * coreutils on ext4), so big files go through coreutils `cp`, which does, and which reflinks where the
 * filesystem can. Where `cp` is missing (the minimal image), callers copy in chunks instead.
 */
let available: Promise<string | undefined> | undefined;

/** The path of a GNU `cp` that takes `--reflink`, or undefined. */
export function kernelCopyTool(): Promise<string | undefined> {
  available ??= promisify(execFile)("cp", ["--version"]).then(
    ({ stdout }) => (stdout.includes("GNU coreutils") ? "cp" : undefined),
    () => undefined,
  );
  return available;
}

/**
 * Copies `source` to `target` (which must not exist) with `cp`, reporting progress from the target's
 * growing size and killing the copy on abort. `source` is a regular file, typically a descriptor the
 * caller opened without following symlinks and checked (`/proc/<pid>/fd/<n>`): cp follows that link
 * to the very file opened.
 */
export async function kernelCopy(
  tool: string,
  source: string,
  target: string,
  size: number,
  signal: AbortSignal | undefined,
  onBytes: (bytes: number) => void,
): Promise<void> {
  signal?.throwIfAborted();
  // -T: the target is the file itself, never "into a directory" someone planted; --dereference: the
  // source is the caller's descriptor, whose /proc link leads to the file it checked.
  const child = spawn(
    tool,
    ["--reflink=auto", "--sparse=auto", "--dereference", "-T", "--", source, target],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let stderr = "";
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  // Killed, and only then settled: a cancel must not return while cp may still write to the volume.
  const kill = () => child.kill("SIGKILL");
  signal?.addEventListener("abort", kill, { once: true });
  let reported = 0;
  let done = false;
  const report = async () => {
    const now = (await stat(target).catch(() => undefined))?.size ?? 0;
    if (done) return;
    const capped = Math.min(now, size);
    if (capped > reported) {
      onBytes(capped - reported);
      reported = capped;
    }
  };
  const timer = setInterval(() => void report(), 250);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (exitCode) => resolve(exitCode));
    });
    signal?.throwIfAborted();
    if (code !== 0) throw copyError(code, stderr);
  } finally {
    done = true;
    clearInterval(timer);
    signal?.removeEventListener("abort", kill);
  }
  if (size > reported) onBytes(size - reported);
  reported = size;
}

/**
 * An error without host paths (messages reach users' PVC events), with the errno code the copy
 * engine maps to a failure reason; cp's own words stay in `cause`, for the backend's log.
 */
function copyError(code: number | null, stderr: string): Error {
  const errno = /No space left on device/.test(stderr)
    ? "ENOSPC"
    : /Disk quota exceeded/.test(stderr)
      ? "EDQUOT"
      : undefined;
  const error = new Error(
    errno ? `the volume is full (${errno})` : `the kernel copy failed (cp exited with ${code})`,
    { cause: new Error(stderr.trim()) },
  ) as NodeJS.ErrnoException;
  if (errno) error.code = errno;
  return error;
}
