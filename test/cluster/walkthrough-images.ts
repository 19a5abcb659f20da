import type { WalkthroughImages } from "../support/walkthrough.ts";
import { registry as embeddedRegistry } from "./config.ts";
import { buildPackageImage, pushImage } from "./product-images.ts";

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
  const publish = async (name: string, entry: string) => {
    const built = await buildPackageImage({ name, entry });
    const pushed = await pushImage(built.image, `${target}/${built.image}`);
    // Pinned by digest, so a rebuilt image under the same version tag rolls the Deployment.
    return `${target}/volpop/${name}@${pushed.digest}`;
  };
  return {
    validator: await publish("validator", "packages/validator/src/main.ts"),
    hello: await publish("populator-hello", "packages/populator-hello/src/main.ts"),
  };
}
