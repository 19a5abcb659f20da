import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { inject } from "vitest";
import type { Kubectl } from "../../support/walkthrough.ts";
import { kubectlBinary } from "./kube.ts";

const execFileAsync = promisify(execFile);

/**
 * kubectl as an admin runs it against the suite's cluster: the embedded cluster's pinned binary
 * when there is one, else `kubectl` from PATH (kind, minikube, a real cluster). Resolves to stdout;
 * `warnings` collects the `Warning: …` lines the API server sent.
 */
export function e2eKubectl(options: { readonly ignoreWarnings?: RegExp } = {}): Kubectl & {
  readonly warnings: string[];
} {
  const kubeconfig = inject("kubeconfig");
  const bin = kubectlBinary();
  const warnings: string[] = [];
  const run = async (args: readonly string[], input?: string) => {
    const child = execFileAsync(bin, [`--kubeconfig=${kubeconfig}`, ...args], {
      maxBuffer: 16 * 1024 * 1024,
    });
    if (input !== undefined) child.child.stdin?.end(input);
    const { stdout, stderr } = await child;
    warnings.push(
      ...stderr
        .split("\n")
        .filter((line) => line.startsWith("Warning:") && !options.ignoreWarnings?.test(line)),
    );
    return stdout;
  };
  return Object.assign(run, { warnings });
}
