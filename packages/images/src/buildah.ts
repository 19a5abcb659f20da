/**
 * buildah, the one image tool here. Why buildah: it builds from a Containerfile without a daemon and
 * as an ordinary process (this machine, CI's and a developer's have no Docker daemon), keeps images in
 * a storage folder of our choosing (so the embedded cluster's images, a release build and a test each
 * can have their own), writes OCI images and indexes, and pushes with the credentials every container
 * tool reads (`REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`, `~/.docker/config.json`).
 */
import path from "node:path";
import { CommandError, type RunResult, run } from "./exec.ts";
import { cacheDir } from "./paths.ts";

/** Where buildah keeps images and its run-time state. */
export interface BuildahStorage {
  /** Images and layers, e.g. `~/.cache/volpop/buildah/storage`. */
  readonly root: string;
  /** Locks and mounts (tmpfs-like state), e.g. `/run/volpop/buildah`. */
  readonly runroot: string;
}

/**
 * The storage the embedded cluster's images and the release command share by default:
 * `$VOLPOP_CACHE/buildah/storage` (`~/.cache/volpop` without it) and `$VOLPOP_RUN_DIR/buildah`
 * (`/run/volpop`), as test/cluster/config.ts places them.
 */
export function defaultStorage(): BuildahStorage {
  return {
    root: path.join(cacheDir(), "buildah", "storage"),
    runroot: path.join(process.env.VOLPOP_RUN_DIR ?? "/run/volpop", "buildah"),
  };
}

/** Runs `buildah <args>` on `storage` (vfs: works in any container, needs no overlay support). */
export function buildah(
  args: readonly string[],
  storage: BuildahStorage = defaultStorage(),
): Promise<RunResult> {
  return run("buildah", [
    "--root",
    storage.root,
    "--runroot",
    storage.runroot,
    "--storage-driver",
    "vfs",
    ...args,
  ]);
}

/**
 * Flags every `buildah bud` here shares: quiet, one layer per step, never pull, and the same bytes
 * for the same inputs (every timestamp, in the config, the history and the layers' tar headers, is
 * 0; no `io.buildah.version` label).
 */
export const reproducible = [
  "--quiet",
  "--layers=false",
  "--pull=never",
  "--timestamp",
  "0",
  "--identity-label=false",
];

/** `buildah bud`'s flags for an image of `arch` (`amd64`, `arm64`) on Linux, whatever this machine's CPU. */
export function platformFlags(arch: string): string[] {
  return ["--os", "linux", "--arch", arch];
}

/** Whether `image` is in `storage`. */
export async function imageExists(image: string, storage?: BuildahStorage): Promise<boolean> {
  try {
    await buildah(["inspect", "--type", "image", image], storage);
    return true;
  } catch (error) {
    if (error instanceof CommandError) return false;
    throw error;
  }
}

/** Bytes of an image's layers as an image manifest (OCI or Docker v2) lists them. */
export function manifestLayerBytes(manifest: string): number {
  const parsed = JSON.parse(manifest) as { layers?: Array<{ size?: number }> };
  return (parsed.layers ?? []).reduce((sum, layer) => sum + (layer.size ?? 0), 0);
}

/** An image's layers in storage: digests and uncompressed sizes (buildah stores uncompressed tars). */
export async function localLayers(
  image: string,
  storage?: BuildahStorage,
): Promise<Array<{ readonly digest: string; readonly size: number }>> {
  const { stdout } = await buildah(
    ["inspect", "--type", "image", "--format", "{{.Manifest}}", image],
    storage,
  );
  const parsed = JSON.parse(stdout) as { layers?: Array<{ digest: string; size: number }> };
  return (parsed.layers ?? []).map(({ digest, size }) => ({ digest, size }));
}

/** Uncompressed size of an image. */
export async function localImageBytes(image: string, storage?: BuildahStorage): Promise<number> {
  return (await localLayers(image, storage)).reduce((sum, layer) => sum + layer.size, 0);
}

/** An image's id and one of its labels, or undefined when there is no such image. */
export async function imageLabel(
  image: string,
  label: string,
  storage?: BuildahStorage,
): Promise<{ id: string; label: string } | undefined> {
  if (!(await imageExists(image, storage))) return undefined;
  const format = `{{.FromImageID}} {{index .OCIv1.Config.Labels ${JSON.stringify(label)}}}`;
  const { stdout } = await buildah(["inspect", "--type", "image", "--format", format, image], storage);
  const [id = "", value = ""] = stdout.trim().split(" ");
  return { id, label: value };
}

/** Progress lines for people watching a build; on stderr so stdout stays machine-readable. */
export function step(message: string): void {
  process.stderr.write(`\u001b[1m[images]\u001b[0m ${message}\n`);
}
