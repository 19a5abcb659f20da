/**
 * The volume seen as a chroot: every path is resolved inside it, one component at a time, and a
 * symlink met on the way is followed as if the volume were `/` (an absolute target restarts at the
 * volume root, `..` stops there), like Go's securejoin and containerd's `fs.RootPath`. So a symlink
 * planted by any layer can redirect an entry within the volume, as it would inside the container,
 * but never out of it; images that rely on such links (usrmerge's `/bin -> usr/bin`) still extract.
 *
 * A resolved path is a list of *physical* components, each verified with lstat to be a real
 * directory. Operations then act on `root/physical/name` with calls that never follow a symlink
 * at the last component. This assumes nothing else writes the volume while a layer is applied,
 * which holds for the populator pod, the only one with the volume mounted.
 */
import type { Stats } from "node:fs";
import fs from "node:fs/promises";
import { MalformedLayerError } from "./errors.ts";

/** Linux's MAXSYMLINKS: a path needing more is a loop or an attack. */
const MAX_SYMLINKS = 40;

export interface ScopedRootHooks {
  /** A directory is about to be created as an implicit parent for `entry`: throw to refuse it. */
  readonly creatingDirectory: (entry: string) => void;
  /** A directory was created as an implicit parent: the applier gives it an owner and a mode. */
  readonly directoryCreated: (physical: readonly string[]) => Promise<void>;
  /** A directory and all it held were removed: forget what was recorded about paths below `key`. */
  readonly directoryRemoved: (key: string) => void;
}

export class ScopedRoot {
  readonly path: string;
  readonly #hooks: ScopedRootHooks;
  // Physical paths already verified to be real directories, so that deep trees are not lstat-ed
  // component by component for every entry. Cleared whenever anything that is a directory is
  // removed, the only way a verified directory can stop being one.
  readonly #knownDirectories = new Set<string>();

  /** `path` must be absolute and an existing directory. */
  constructor(path: string, hooks: ScopedRootHooks) {
    this.path = path;
    this.#hooks = hooks;
  }

  absolute(physical: readonly string[]): string {
    return physical.length === 0 ? this.path : `${this.path}/${physical.join("/")}`;
  }

  /**
   * Resolves `components` (lexically clean, relative to the root) to the physical path of a
   * directory, following symlinks inside the root. With `create`, missing directories are made,
   * as tar makes implicit parents, and a non-directory on the way is an error; without it, the
   * result is undefined when the path does not lead to a directory.
   */
  async resolveDirectory(
    components: readonly string[],
    entry: string,
    create: boolean,
  ): Promise<string[] | undefined> {
    const resolved: string[] = [];
    const pending = [...components];
    let symlinks = 0;
    for (let component = pending.shift(); component !== undefined; component = pending.shift()) {
      if (component === "" || component === ".") continue;
      if (component === "..") {
        resolved.pop();
        continue;
      }
      resolved.push(component);
      const key = resolved.join("/");
      if (this.#knownDirectories.has(key)) continue;
      const stats = await this.lstat(resolved);
      if (stats === undefined) {
        if (!create) return undefined;
        this.#hooks.creatingDirectory(entry);
        await fs.mkdir(this.absolute(resolved), { mode: 0o755 });
        await this.#hooks.directoryCreated([...resolved]);
      } else if (stats.isSymbolicLink()) {
        if (++symlinks > MAX_SYMLINKS) {
          throw new MalformedLayerError(entry, "too many levels of symbolic links in its path");
        }
        const target = await fs.readlink(this.absolute(resolved));
        resolved.pop();
        if (target.startsWith("/")) resolved.length = 0;
        pending.unshift(...target.split("/"));
        continue;
      } else if (!stats.isDirectory()) {
        if (!create) return undefined;
        throw new MalformedLayerError(entry, `${JSON.stringify(key)} in its path is not a directory`);
      }
      this.#knownDirectories.add(key);
    }
    return resolved;
  }

  /** lstat of a physical path; undefined when nothing is there. */
  async lstat(physical: readonly string[]): Promise<Stats | undefined> {
    try {
      return await fs.lstat(this.absolute(physical));
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async list(physical: readonly string[]): Promise<string[]> {
    return fs.readdir(this.absolute(physical));
  }

  /** Removes whatever is at a physical path, a whole directory tree included, never following symlinks. */
  async remove(physical: readonly string[]): Promise<void> {
    const stats = await this.lstat(physical);
    if (stats === undefined) return;
    const absolute = this.absolute(physical);
    if (!stats.isDirectory()) {
      await fs.unlink(absolute);
      return;
    }
    // fs.rm unlinks symlinks it meets rather than descending into them.
    await fs.rm(absolute, { recursive: true, force: true });
    this.#knownDirectories.clear();
    this.#hooks.directoryRemoved(physical.join("/"));
  }

  /** Records that the applier itself made a real directory at `physical`. */
  markDirectory(physical: readonly string[]): void {
    this.#knownDirectories.add(physical.join("/"));
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR";
}
