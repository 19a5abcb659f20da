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
 * growing size and killing the copy on abort.
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
  // -T: the target is the file itself, never "into a directory" someone planted; --no-dereference: a
  // symlinked source is not followed (callers only pass regular files anyway).
  const child = spawn(
    tool,
    ["--reflink=auto", "--sparse=auto", "--no-dereference", "-T", "--", source, target],
    {
      stdio: ["ignore", "ignore", "pipe"],
      signal,
    },
  );
  let stderr = "";
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  let reported = 0;
  const report = async () => {
    const now = (await stat(target).catch(() => undefined))?.size ?? 0;
    if (now > reported) {
      onBytes(Math.min(now, size) - reported);
      reported = Math.min(now, size);
    }
  };
  const timer = setInterval(() => void report(), 250);
  try {
    await new Promise<void>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (code) =>
        code === 0 ? resolve() : reject(new Error(`cp ${source} failed (${code}): ${stderr.trim()}`)),
      );
    });
  } finally {
    clearInterval(timer);
  }
  if (size > reported) onBytes(size - reported);
}
