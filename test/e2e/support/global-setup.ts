import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import type { TestProject } from "vitest/node";
import { layout } from "../../cluster/config.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** Path of the kubeconfig every e2e suite talks to. */
    kubeconfig: string;
    /** True when the suites run on volpop's embedded cluster (not on a cluster the user pointed at). */
    embeddedCluster: boolean;
    /** True when the global setup started the embedded cluster (and so will stop it). */
    clusterStartedForRun: boolean;
  }
}

const cli = path.join(layout.clusterSource, "cli.ts");
const run = promisify(execFile);
let startedHere = false;

export async function setup(project: TestProject): Promise<void> {
  const userKubeconfig = process.env.KUBECONFIG;
  if (userKubeconfig) {
    // The user's cluster: use it as it is, start and stop nothing.
    project.provide("kubeconfig", userKubeconfig);
    project.provide("embeddedCluster", false);
    project.provide("clusterStartedForRun", false);
    return;
  }
  const status = await run(process.execPath, [cli, "status"]).then(
    () => true,
    () => false,
  );
  if (!status) {
    // Three nodes, so that placement is tested where it matters (test/e2e/multinode.e2e.ts); a
    // cluster the user started with another count is used as it is.
    const nodes = process.env.VOLPOP_E2E_NODES ?? "3";
    const child = run(process.execPath, [cli, "up", `--nodes=${nodes}`], { maxBuffer: 64 * 1024 * 1024 });
    child.child.stderr?.pipe(process.stderr);
    await child;
    startedHere = true;
  }
  project.provide("kubeconfig", layout.adminKubeconfig);
  project.provide("embeddedCluster", true);
  project.provide("clusterStartedForRun", startedHere);
}

export async function teardown(): Promise<void> {
  // Leave a cluster the user started (e.g. with the demo) running; stop the one started for this run.
  if (startedHere) await run(process.execPath, [cli, "down"]).catch(() => undefined);
}
