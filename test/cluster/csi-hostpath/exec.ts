/** Running host tools (mount, umount, losetup) without a shell. */

import { execFile } from "node:child_process";

/** Runs `file` with `args` and resolves with its stdout; rejects with an {@link ExecError}. */
export type Exec = (file: string, args: readonly string[]) => Promise<string>;

export class ExecError extends Error {
  override name = "ExecError";
  readonly command: readonly string[];
  readonly stderr: string;

  constructor(command: readonly string[], stderr: string, options?: ErrorOptions) {
    const reason = stderr.trim() || (options?.cause instanceof Error ? options.cause.message : "failed");
    super(`${command.join(" ")}: ${reason}`, options);
    this.command = command;
    this.stderr = stderr;
  }
}

/** An {@link Exec} that kills commands running longer than `timeoutMs`. */
export function createExec(timeoutMs = 60_000): Exec {
  return (file, args) =>
    new Promise((resolve, reject) => {
      execFile(file, [...args], { timeout: timeoutMs, encoding: "utf8" }, (error, stdout, stderr) => {
        if (error) reject(new ExecError([file, ...args], stderr, { cause: error }));
        else resolve(stdout);
      });
    });
}
