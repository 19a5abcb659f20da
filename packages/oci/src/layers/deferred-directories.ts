/**
 * Directory modes and times are set once, after the last layer, as tar does: adding a child
 * changes a directory's mtime, and a read-only directory (0555) would refuse the children that
 * later entries and layers put in it when the process is not root.
 */
import fs from "node:fs/promises";
import type { ScopedRoot } from "./scoped-root.ts";

export interface DirectoryMetadata {
  readonly mode: number;
  /** Seconds; undefined for implicit parents, which keep the time of their creation. */
  readonly times: { readonly atime: number; readonly mtime: number } | undefined;
}

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW } = fs.constants;

export class DeferredDirectories {
  // Keyed by physical path; a later declaration of the same directory replaces an earlier one.
  readonly #pending = new Map<string, DirectoryMetadata>();

  set(physical: readonly string[], metadata: DirectoryMetadata): void {
    this.#pending.set(physical.join("/"), metadata);
  }

  /** Forgets `key` and everything below it: the directory was removed, whatever replaces it is new. */
  forgetBelow(key: string): void {
    const prefix = `${key}/`;
    for (const pending of this.#pending.keys()) {
      if (pending === key || pending.startsWith(prefix)) this.#pending.delete(pending);
    }
  }

  /** Applies everything recorded, deepest first so a read-only parent never blocks its children. */
  async apply(root: ScopedRoot): Promise<void> {
    const keys = [...this.#pending.keys()].sort((a, b) => depth(b) - depth(a));
    const realDirectories = new Map<string, boolean>();
    for (const key of keys) {
      const metadata = this.#pending.get(key);
      if (metadata === undefined) continue;
      const physical = key.split("/");
      // forgetBelow keeps this map in step with removals; checking again costs little and makes
      // sure nothing here ever acts through a symlink.
      if (!(await isRealDirectoryPath(root, physical, realDirectories))) continue;
      const handle = await fs.open(root.absolute(physical), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      try {
        await handle.chmod(metadata.mode);
        if (metadata.times !== undefined) await handle.utimes(metadata.times.atime, metadata.times.mtime);
      } finally {
        await handle.close();
      }
    }
    this.#pending.clear();
  }
}

function depth(key: string): number {
  let count = 0;
  for (const char of key) if (char === "/") count++;
  return count;
}

// Whether every component of `physical` is a real directory. `known` remembers the answer for each
// prefix: nothing is created or removed while modes are applied, and deep trees would otherwise
// cost a number of lstat calls quadratic in their depth.
async function isRealDirectoryPath(
  root: ScopedRoot,
  physical: readonly string[],
  known: Map<string, boolean>,
): Promise<boolean> {
  let key = "";
  for (const component of physical) {
    key = key === "" ? component : `${key}/${component}`;
    let real = known.get(key);
    if (real === undefined) {
      const stats = await root.lstat(key.split("/"));
      real = stats?.isDirectory() ?? false;
      known.set(key, real);
    }
    if (!real) return false;
  }
  return true;
}
