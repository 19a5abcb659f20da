import { versionNear } from "./package-image.ts";

/** The images volpop ships: one per program a user deploys. */
export interface ProductImage {
  /** The image's name under `volpop/`, e.g. `validator`. */
  readonly name: string;
  /** Its program, bundled into `/app/main.js` (relative to the repository's root). */
  readonly entry: string;
}

/** Every product image, in build order; each is tagged with its package's version. */
export const productImages: readonly ProductImage[] = [
  { name: "validator", entry: "packages/validator/src/main.ts" },
  { name: "populator-hello", entry: "packages/populator-hello/src/main.ts" },
  { name: "populator-image", entry: "packages/populator-image/src/main.ts" },
  { name: "populator-csi-fastpath", entry: "packages/populator-csi-fastpath/src/main.ts" },
];

/** The product image called `name`; throws a sentence listing the names for any other. */
export function productImage(name: string): ProductImage {
  const found = productImages.find((image) => image.name === name);
  if (found === undefined)
    throw new Error(`no product image ${name}; there are ${productImages.map((i) => i.name).join(", ")}`);
  return found;
}

/**
 * The image the manifests of `packages/<name>` (its `deploy/`, its README, the docs) name:
 * `volpop/<name>:<its package's version>`, the tag a build gives it too. The e2e tier replaces it
 * with the image it built and published.
 */
export function manifestImage(name: string): string {
  return `volpop/${name}:${versionNear(productImage(name).entry)}`;
}
