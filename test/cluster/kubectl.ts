import { layout } from "./config.ts";
import { type RunOptions, type RunResult, run } from "./exec.ts";

/** kubectl from the pinned build, as the cluster admin. */
export function kubectl(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return run(
    layout.bin("kubernetes", "kubectl"),
    [`--kubeconfig=${layout.adminKubeconfig}`, ...args],
    options,
  );
}
