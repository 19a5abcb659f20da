import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { failpointLine } from "@volpop/sdk/runtime";
import { waitFor } from "../../support/kube.ts";

const main = path.join(import.meta.dirname, "controller-main.ts");

/** A controller process the test can stop at a failpoint and kill. */
export interface ControllerProcess {
  /** Resolves once the process stopped at `failpoint` (armed when it was started). */
  reached(failpoint: string): Promise<void>;
  /** Everything it wrote, for failure messages. */
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Whether the process has ended (by itself or killed). */
  exited(): boolean;
}

/**
 * Starts the test populator's controller (`runPopulator`, controller mode) against `kubeconfig`,
 * with PVC' and pods in `namespace`, armed at `failpoints` (see the SDK's failpoints.ts); for the
 * TestSources of `group` (default: the usual test populator's).
 */
export function startControllerProcess(options: {
  kubeconfig: string;
  namespace: string;
  failpoints?: readonly string[];
  group?: string;
}): ControllerProcess {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      "--conditions=volpop-source",
      main,
      "--mode=controller",
      `--kubeconfig=${options.kubeconfig}`,
      `--namespace=${options.namespace}`,
      "--log-level=info",
    ],
    {
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        VOLPOP_FAILPOINTS: (options.failpoints ?? []).join(","),
        VOLPOP_TEST_POPULATOR_GROUP: options.group ?? "",
      },
    },
  );
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const exited = once(child, "exit");
  return {
    output: () => output,
    exited: () => child.exitCode !== null || child.signalCode !== null,
    async reached(failpoint) {
      await waitFor(
        `the controller to stop at failpoint ${failpoint}`,
        async () => {
          if (child.exitCode !== null)
            throw new Error(`controller exited with ${child.exitCode}:\n${output}`);
          return output.includes(failpointLine(failpoint)) ? true : undefined;
        },
        180_000,
      );
    },
    async kill(signal = "SIGKILL") {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        await exited;
      }
    },
  };
}
