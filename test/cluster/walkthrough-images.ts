import { publishProductImage } from "@volpop/images";
import type { WalkthroughImages } from "../support/walkthrough.ts";
import { registry as embeddedRegistry } from "./config.ts";

export class NoRegistryError extends Error {
  readonly code = "NO_IMAGE_REGISTRY";
}

/**
 * Builds the validator and hello images and pushes them where the cluster pulls from: the embedded
 * cluster's registry, or `$VOLPOP_IMAGE_REGISTRY` for a cluster the user points at.
 */
export async function buildWalkthroughImages(embedded: boolean): Promise<WalkthroughImages> {
  const target = embedded ? embeddedRegistry : process.env.VOLPOP_IMAGE_REGISTRY;
  if (!target) {
    throw new NoRegistryError(
      "KUBECONFIG points at your own cluster, which cannot pull images built on this machine: set VOLPOP_IMAGE_REGISTRY to a registry this machine can push to and the cluster can pull from (e.g. localhost:5001 for kind with a local registry)",
    );
  }
  // Pinned by digest, so a rebuilt image under the same version tag rolls the Deployment.
  return {
    validator: await publishProductImage("validator", target),
    hello: await publishProductImage("populator-hello", target),
  };
}
