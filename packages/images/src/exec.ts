/** Runs programs (buildah, ldd, dpkg-query, strip, git) without a shell. */
import { execFile } from "node:child_process";

export class CommandError extends Error {
  readonly code = "COMMAND_FAILED";
  readonly stdout: string;
  readonly stderr: string;
  constructor(message: string, stdout: string, stderr: string) {
    super(message);
    this.stdout = stdout;
    this.stderr = stderr;
  }
}

export interface RunOptions {
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Return the failure instead of throwing it (for probes whose failure is an answer). */
  readonly allowFailure?: boolean;
}

export interface RunResult {
  readonly ok: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program (never through a shell) and collects its output. */
export function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { env: options.env ?? process.env, cwd: options.cwd, maxBuffer: 64 * 1024 * 1024, encoding: "utf8" },
      (error, stdout, stderr) => {
        if (error && !options.allowFailure) {
          const tail = (stderr || stdout).trim().split("\n").slice(-15).join("\n");
          reject(
            new CommandError(
              `${file} ${args.join(" ")} failed: ${error.message.split("\n")[0]}\n${tail}`,
              stdout,
              stderr,
            ),
          );
          return;
        }
        resolve({ ok: !error, stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}
