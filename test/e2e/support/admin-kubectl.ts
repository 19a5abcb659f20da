import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { inject } from "vitest";
import { registry as embeddedRegistry } from "../../cluster/config.ts";
import type { Kubectl } from "../../support/walkthrough.ts";
import { kubectlBinary } from "./kube.ts";
import { e2eKubectl } from "./kubectl.ts";

const _execFileAsync = promisify(execFile);

/** Where the cluster pulls images built on this machine from: the embedded registry, or $VOLPOP_IMAGE_REGISTRY. */
export function imageRegistry(): string | undefined {
  return inject("embeddedCluster") ? embeddedRegistry : process.env.VOLPOP_IMAGE_REGISTRY;
}

/** The embedded cluster's kubectl when it has one, else `kubectl` from PATH. */
export const kubectlBin = kubectlBinary();

/** kubectl as an admin runs it; `warnings` collects the `Warning: …` lines the API server sent it. */
export function pinnedKubectl(): Kubectl & { readonly warnings: string[] } {
  // Objects other suites created without kubectl (the CRDs) get this once; it says nothing of ours.
  return e2eKubectl({ ignoreWarnings: /last-applied-configuration/ });
}

/** The VolumePopulator CRD, which comes with the data-source validator an admin installs first. */
const VOLUME_POPULATOR_CRD = path.resolve(import.meta.dirname, "../../../packages/validator/deploy/crd.yaml");

/** What a populator's manifests need first: the VolumePopulator kind, established. */
export async function installPrerequisites(kubectl: Kubectl): Promise<void> {
  await kubectl(["apply", "-f", VOLUME_POPULATOR_CRD]);
  await kubectl([
    "wait",
    "--for=condition=Established",
    "crd/volumepopulators.populator.storage.k8s.io",
    "--timeout=60s",
  ]);
}
