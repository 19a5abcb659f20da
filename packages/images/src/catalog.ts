import fs from "node:fs";
import path from "node:path";
import { versionNear } from "./package-image.ts";

/** The images volpop ships: one per program a user deploys; or the image of a package outside it. */
export interface ProductImage {
  /** The image's name under `volpop/`, e.g. `validator` (a file name: SBOMs are written as `<name>.cdx.json`). */
  readonly name: string;
  /** Its program, bundled into `/app/main.js` (relative to `root`). */
  readonly entry: string;
  /** The image's repository, when not `volpop/<name>`. */
  readonly repository?: string;
  /** The project it is built from, when not this repository (see {@link outsidePackage}). */
  readonly root?: string;
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

/** The program an outside package's image runs, unless `--entry` says otherwise. */
export const OUTSIDE_PACKAGE_ENTRY = "src/main.ts";

// What an OCI repository name may be (the distribution spec's grammar, lowercase components).
const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/**
 * The image of an npm package outside this repository (a populator made with create-volpop-populator):
 * its program (`entry`, default `src/main.ts`) bundled on the same base with its own `Containerfile`,
 * named after the package (`@acme/tape-populator` → `acme/tape-populator`) and tagged with its version.
 * Throws a sentence naming what is missing.
 */
export function outsidePackage(dir: string, options: { readonly entry?: string } = {}): ProductImage {
  const root = path.resolve(dir);
  const manifestFile = path.join(root, "package.json");
  if (!fs.existsSync(manifestFile))
    throw new Error(`${root} has no package.json: --package names the folder of an npm package`);
  const manifest = JSON.parse(fs.readFileSync(manifestFile, "utf8")) as { name?: unknown; version?: unknown };
  if (typeof manifest.name !== "string" || manifest.name === "")
    throw new Error(`${manifestFile} has no name to call the image by`);
  if (typeof manifest.version !== "string" || manifest.version === "")
    throw new Error(`${manifestFile} has no version to tag the image with`);
  const repository = manifest.name.replace(/^@/, "");
  if (!REPOSITORY.test(repository))
    throw new Error(
      `the package name ${manifest.name} is no image repository name (lowercase a-z, 0-9, ".", "_", "-")`,
    );
  const entry = options.entry ?? OUTSIDE_PACKAGE_ENTRY;
  if (!fs.existsSync(path.resolve(root, entry)))
    throw new Error(
      `${path.resolve(root, entry)} does not exist: the image runs the package's program (--entry)`,
    );
  if (!fs.existsSync(path.join(root, "Containerfile")))
    throw new Error(`${root} has no Containerfile to build the image from`);
  return { name: repository.replaceAll("/", "-"), entry, repository, root };
}
