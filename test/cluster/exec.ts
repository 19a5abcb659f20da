import { spawn } from "node:child_process";
import { CommandError } from "@volpop/images";

export { CommandError, type RunOptions, type RunResult, run } from "@volpop/images";

/** Runs a program with its output passed through to ours, for long builds whose progress the user should see. */
export function runVisible(
  file: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  cwd?: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ["ignore", "inherit", "inherit"], env, cwd });
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (code === 0) resolve();
      else reject(new CommandError(`${file} ${args.join(" ")} exited with ${signal ?? code}`, "", ""));
    });
  });
}
