import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { failpointLine } from "@volpop/sdk/runtime";
import { waitFor } from "../../support/kube.ts";

const repoRoot = path.resolve(import.meta.dirname, "../../..");

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

/** Which populator the process runs, with which strategy. */
export type ControllerProgram =
  /** The test populator (TestSources of `group`, default the usual one's), Pod strategy. */
  | { readonly strategy: "pod"; readonly group?: string }
  /**
   * The CSI fast-path populator's own program (GoldenContent), as its image runs it, with the backend
   * at `backendEndpoint` (`unix://…`) and golden content for fallback pods in `goldenHostDir`.
   */
  | { readonly strategy: "fastpath"; readonly backendEndpoint: string; readonly goldenHostDir: string }
  /** GoldenContent with the function strategy, whose functions call the backend at `backendEndpoint`. */
  | { readonly strategy: "function"; readonly backendEndpoint: string };

export interface ControllerProcessOptions {
  readonly kubeconfig: string;
  /** Namespace of PVC' and populator pods. */
  readonly namespace: string;
  /** Failpoints to arm (see the SDK's failpoints.ts). */
  readonly failpoints?: readonly string[];
  /** Default: the test populator with the Pod strategy. */
  readonly program?: ControllerProgram;
}

/**
 * Starts a populator's controller (`runPopulator`, controller mode) against `kubeconfig`, with PVC'
 * and pods in `namespace`, armed at `failpoints`.
 */
export function startControllerProcess(options: ControllerProcessOptions): ControllerProcess {
  const { main, args, env } = commandOf(options.program ?? { strategy: "pod" });
  const child: ChildProcess = spawn(
    process.execPath,
    [
      "--conditions=volpop-source",
      main,
      "--mode=controller",
      `--kubeconfig=${options.kubeconfig}`,
      `--namespace=${options.namespace}`,
      "--log-level=info",
      ...args,
    ],
    {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env, VOLPOP_FAILPOINTS: (options.failpoints ?? []).join(",") },
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

/** The program file, its own flags and environment for `program`. */
function commandOf(program: ControllerProgram): {
  main: string;
  args: string[];
  env: Record<string, string>;
} {
  switch (program.strategy) {
    case "pod":
      return {
        main: path.join(import.meta.dirname, "controller-main.ts"),
        args: [],
        env: { VOLPOP_TEST_POPULATOR_GROUP: program.group ?? "" },
      };
    case "fastpath":
      return {
        main: path.join(repoRoot, "packages/populator-csi-fastpath/src/main.ts"),
        args: [
          `--golden-host-dir=${program.goldenHostDir}`,
          `--fastpath-endpoint=${program.backendEndpoint}`,
        ],
        env: {},
      };
    case "function":
      return {
        main: path.join(import.meta.dirname, "function-controller-main.ts"),
        args: [],
        env: { VOLPOP_CHAOS_BACKEND_ENDPOINT: program.backendEndpoint },
      };
  }
}
