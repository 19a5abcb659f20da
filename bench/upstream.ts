import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { buildah, imageLabel, pushImage, registryImageBytes, reproducible } from "@volpop/images";
import { cacheDir } from "../test/cluster/config.ts";
import { run } from "../test/cluster/exec.ts";
import { step } from "../test/cluster/log.ts";

/**
 * Upstream's Go programs, the baselines volpop is benchmarked beside: `hello-populator` from
 * kubernetes-csi/lib-volume-populator and `volume-data-source-validator` from
 * kubernetes-csi/volume-data-source-validator. Nothing of theirs is copied into this repository: the
 * user passes their own `git clone`s, whose vendored modules build offline (`go build -mod=vendor`).
 * Binaries are cached under `<cache>/upstream/<name>-<commit12>/<name>`; images (`FROM scratch`, the
 * static binary only) are built with the cluster tooling's buildah and pushed with its `pushImage`.
 */

/** A clone of an upstream repository, at the commit it has checked out. */
export interface UpstreamCheckout {
  /** Absolute path of the clone. */
  dir: string;
  /** `git rev-parse HEAD`: 40 hex digits. */
  commit: string;
  /** `git describe --tags --always`, e.g. `v3.2.0` or `v3.2.0-4-g1a2b3c4`; stamped as `main.version`. */
  describe: string;
}

/** The upstream programs {@link prepareUpstream} builds, and where they live in their repositories. */
export const upstreamPrograms = {
  helloPopulator: {
    name: "hello-populator",
    module: "github.com/kubernetes-csi/lib-volume-populator",
    packagePath: "./example/hello-populator",
  },
  validator: {
    name: "volume-data-source-validator",
    module: "github.com/kubernetes-csi/volume-data-source-validator",
    packagePath: "./cmd/volume-data-source-validator",
  },
} as const;

/** Label on upstream images: the sha256 of the binary inside, to skip identical rebuilds. */
export const BINARY_SHA256_LABEL = "io.volpop.upstream.binary-sha256";

// ---------------------------------------------------------------------------------------------
// Pure parts.
// ---------------------------------------------------------------------------------------------

/** Where {@link buildUpstreamBinary} keeps `name` built from `commit`: `<root>/upstream/<name>-<commit12>/<name>`. */
export function upstreamBinaryPath(root: string, name: string, commit: string): string {
  assertName(name);
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(commit)) throw new Error(`not a full git commit id: ${commit}`);
  return path.join(root, "upstream", `${name}-${commit.slice(0, 12)}`, name);
}

/** The module path a go.mod declares, without its major-version suffix (`…/lib-volume-populator/v3` → `…/lib-volume-populator`). */
export function goModulePath(goMod: string): string {
  const match = /^module\s+"?([^\s"]+)"?\s*$/m.exec(goMod);
  if (!match?.[1]) throw new Error("go.mod declares no module");
  return match[1].replace(/\/v\d+$/, "");
}

/** The web address of a module hosted on GitHub (`github.com/o/r` → `https://github.com/o/r`), else undefined. */
export function moduleSourceUrl(module: string): string | undefined {
  return /^github\.com\/[^/]+\/[^/]+$/.test(module) ? `https://${module}` : undefined;
}

/** `git describe` output as an image tag (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`). */
export function describeTag(describe: string): string {
  const tag = describe
    .trim()
    .replace(/[^A-Za-z0-9_.-]/g, "_")
    .replace(/^[.-]+/, "")
    .slice(0, 128);
  if (tag === "") throw new Error(`cannot make an image tag of ${JSON.stringify(describe)}`);
  return tag;
}

function assertName(name: string): void {
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(name))
    throw new Error(`not a usable program name: ${JSON.stringify(name)}`);
}

// ---------------------------------------------------------------------------------------------
// Checkouts and binaries.
// ---------------------------------------------------------------------------------------------

/**
 * Reads a clone's commit and `git describe`; throws when `dir` is not the top of a git checkout or has
 * no `vendor/modules.txt` (the build runs offline from vendored modules).
 */
export async function readCheckout(dir: string): Promise<UpstreamCheckout> {
  const absolute = path.resolve(dir);
  if (!fs.statSync(absolute, { throwIfNoEntry: false })?.isDirectory())
    throw new Error(
      `${absolute}: no such directory (pass the path of a git clone of the upstream repository)`,
    );
  const git = async (args: readonly string[]) => {
    const result = await run("git", ["-C", absolute, ...args], { allowFailure: true });
    if (!result.ok)
      throw new Error(
        `${absolute} is not a usable git checkout (git ${args.join(" ")}): ${result.stderr.trim()}`,
      );
    return result.stdout.trim();
  };
  const top = await git(["rev-parse", "--show-toplevel"]);
  if (fs.realpathSync(top) !== fs.realpathSync(absolute))
    throw new Error(`${absolute} is inside the git checkout ${top}; pass the checkout's top folder`);
  const commit = await git(["rev-parse", "HEAD"]);
  const describe = await git(["describe", "--tags", "--always"]);
  if (!fs.existsSync(path.join(absolute, "vendor", "modules.txt")))
    throw new Error(
      `${absolute} has no vendor/modules.txt: upstream baselines build offline from vendored modules`,
    );
  return { dir: absolute, commit, describe };
}

/** The module path of a checkout's go.mod, without its major-version suffix. */
export function checkoutModule(checkout: UpstreamCheckout): string {
  return goModulePath(fs.readFileSync(path.join(checkout.dir, "go.mod"), "utf8"));
}

/** What {@link buildUpstreamBinary} builds. */
export interface UpstreamBinarySpec {
  readonly checkout: UpstreamCheckout;
  /** The main package, relative to the checkout: `./example/hello-populator`. */
  readonly packagePath: string;
  /** The binary's name (and its cache folder's prefix): `hello-populator`. */
  readonly name: string;
}

/**
 * Builds a static binary of `packagePath` in the checkout (`CGO_ENABLED=0 go build -mod=vendor
 * -trimpath -ldflags "-s -w -X main.version=<describe>"`) into `<cache>/upstream/<name>-<commit12>/<name>`,
 * or returns the one there. Offline: vendored modules only, no module proxy, no toolchain download.
 * The binary is written beside its final name and renamed, so an interrupted build never looks complete.
 */
export async function buildUpstreamBinary(
  spec: UpstreamBinarySpec,
): Promise<{ binary: string; cached: boolean }> {
  const { checkout, packagePath, name } = spec;
  const binary = upstreamBinaryPath(cacheDir, name, checkout.commit);
  if (fs.existsSync(binary)) return { binary, cached: true };
  if (!packagePath.startsWith("./") || !fs.existsSync(path.join(checkout.dir, packagePath)))
    throw new Error(
      `${checkout.dir}: no package ${packagePath} (give it as ./path relative to the checkout)`,
    );

  step(`building upstream ${name} ${checkout.describe} (${checkout.commit.slice(0, 12)}) with go`);
  const started = Date.now();
  fs.mkdirSync(path.dirname(binary), { recursive: true });
  const partial = `${binary}.partial-${process.pid}-${Date.now()}`;
  try {
    await run(
      "go",
      [
        "build",
        "-mod=vendor",
        "-trimpath",
        "-ldflags",
        `-s -w -X main.version=${checkout.describe}`,
        "-o",
        partial,
        packagePath,
      ],
      {
        cwd: checkout.dir,
        env: {
          ...process.env,
          CGO_ENABLED: "0",
          GOFLAGS: "-mod=vendor",
          GOPROXY: "off",
          GOTOOLCHAIN: "local",
          GOWORK: "off",
        },
      },
    );
    fs.renameSync(partial, binary);
  } finally {
    fs.rmSync(partial, { force: true });
  }
  step(`built upstream ${name} in ${Math.round((Date.now() - started) / 1000)}s`);
  return { binary, cached: false };
}

// ---------------------------------------------------------------------------------------------
// Images.
// ---------------------------------------------------------------------------------------------

/** What {@link buildUpstreamImage} builds. */
export interface UpstreamImageSpec {
  /** A static binary, e.g. from {@link buildUpstreamBinary}; shipped as `/<name>`. */
  readonly binary: string;
  /** Program and image name: local `volpop-upstream/<name>:<tag>`, remote `<registry>/upstream/<name>:<tag>`. */
  readonly name: string;
  /** Image tag, e.g. {@link describeTag} of the checkout. */
  readonly tag: string;
  /** Registry to push to, e.g. `localhost:5000` (plain HTTP on localhost). */
  readonly registry: string;
  /** Where the binary came from: labels `org.opencontainers.image.source`/`revision`/`version`. */
  readonly checkout: UpstreamCheckout;
}

/** A pushed upstream image. */
export interface UpstreamImage {
  /** `<registry>/upstream/<name>@sha256:…` */
  readonly reference: string;
  /** Sum of its compressed layers: what a pull transfers. */
  readonly compressedBytes: number;
  /** True when buildah's storage had the image for this binary already and nothing was built. */
  readonly cached: boolean;
}

/**
 * Builds `volpop-upstream/<name>:<tag>` — `FROM scratch`, the binary as `/<name>`, running as root like upstream's own images — unless
 * the image under that name already carries {@link BINARY_SHA256_LABEL} of this binary; pushes it to
 * `registry` and returns the digest-pinned reference with its compressed size.
 */
export async function buildUpstreamImage(spec: UpstreamImageSpec): Promise<UpstreamImage> {
  const { binary, name, tag, registry, checkout } = spec;
  assertName(name);
  const image = `volpop-upstream/${name}:${tag}`;
  const binarySha256 = createHash("sha256").update(fs.readFileSync(binary)).digest("hex");
  const previous = await imageLabel(image, BINARY_SHA256_LABEL);
  const cached = previous?.label === binarySha256;
  if (!cached) {
    step(`building image ${image} from ${binary}`);
    const context = fs.mkdtempSync(path.join(os.tmpdir(), "volpop-upstream-image-"));
    try {
      fs.copyFileSync(binary, path.join(context, name));
      fs.chmodSync(path.join(context, name), 0o755);
      fs.writeFileSync(
        path.join(context, "Containerfile"),
        // As upstream's Dockerfiles (distroless/static, whose default user is root): hello-populator's pod
        // writes into a fresh volume owned by root.
        `FROM scratch\nCOPY ${name} /${name}\nENTRYPOINT ["/${name}"]\n`,
      );
      const source = moduleSourceUrl(checkoutModule(checkout));
      const labels = {
        ...(source === undefined ? {} : { "org.opencontainers.image.source": source }),
        "org.opencontainers.image.revision": checkout.commit,
        "org.opencontainers.image.version": checkout.describe,
        [BINARY_SHA256_LABEL]: binarySha256,
      };
      await buildah([
        "bud",
        ...reproducible,
        ...Object.entries(labels).flatMap(([key, value]) => ["--label", `${key}=${value}`]),
        "-f",
        path.join(context, "Containerfile"),
        "-t",
        image,
        context,
      ]);
    } finally {
      fs.rmSync(context, { recursive: true, force: true });
    }
    // The image the tag named before is left nameless: remove it (buildah refuses if anything still uses it).
    if (previous !== undefined) await buildah(["rmi", previous.id]).catch(() => undefined);
  }
  const repository = `${registry}/upstream/${name}`;
  const pushed = await pushImage(image, `${repository}:${tag}`);
  const reference = `${repository}@${pushed.digest}`;
  return { reference, compressedBytes: await registryImageBytes(reference), cached };
}

// ---------------------------------------------------------------------------------------------
// Everything the bench driver needs.
// ---------------------------------------------------------------------------------------------

/** Options for {@link prepareUpstream}; a program whose checkout is not given is not prepared. */
export interface PrepareUpstreamOptions {
  /** A clone of kubernetes-csi/lib-volume-populator (for `hello-populator`). */
  readonly populatorCheckout?: string;
  /** A clone of kubernetes-csi/volume-data-source-validator. */
  readonly validatorCheckout?: string;
  /** Build and push images too, to this registry (e.g. `localhost:5000`). */
  readonly registry?: string;
}

/** One upstream program, built (and pushed when a registry was given). */
export interface PreparedProgram {
  readonly name: string;
  readonly checkout: UpstreamCheckout;
  readonly packagePath: string;
  readonly binary: string;
  /** The binary came from the cache. */
  readonly cached: boolean;
  readonly image?: UpstreamImage;
}

export interface PreparedUpstream {
  readonly helloPopulator?: PreparedProgram;
  readonly validator?: PreparedProgram;
}

/**
 * Builds upstream's `hello-populator` and validator from the user's clones (each checked to be the
 * repository it should be), and their images when `registry` is given.
 */
export async function prepareUpstream(options: PrepareUpstreamOptions): Promise<PreparedUpstream> {
  const prepare = async (
    dir: string,
    program: (typeof upstreamPrograms)[keyof typeof upstreamPrograms],
  ): Promise<PreparedProgram> => {
    const checkout = await readCheckout(dir);
    const module = checkoutModule(checkout);
    if (module !== program.module)
      throw new Error(
        `${checkout.dir} is a clone of ${module}, not of ${program.module} (for ${program.name})`,
      );
    const { binary, cached } = await buildUpstreamBinary({
      checkout,
      packagePath: program.packagePath,
      name: program.name,
    });
    const prepared = { name: program.name, checkout, packagePath: program.packagePath, binary, cached };
    if (options.registry === undefined) return prepared;
    const image = await buildUpstreamImage({
      binary,
      name: program.name,
      tag: describeTag(checkout.describe),
      registry: options.registry,
      checkout,
    });
    return { ...prepared, image };
  };
  const result: { helloPopulator?: PreparedProgram; validator?: PreparedProgram } = {};
  if (options.populatorCheckout !== undefined)
    result.helloPopulator = await prepare(options.populatorCheckout, upstreamPrograms.helloPopulator);
  if (options.validatorCheckout !== undefined)
    result.validator = await prepare(options.validatorCheckout, upstreamPrograms.validator);
  return result;
}
