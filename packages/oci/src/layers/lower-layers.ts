/**
 * Whiteouts only remove what *lower* layers put in the volume (image-spec: "files that are present
 * in the same layer as a whiteout file can only be hidden by whiteout files in subsequent layers").
 * Entries apply in tar order, so by the time an opaque marker arrives, entries of its own layer
 * may already sit in that directory: the layer's written paths are tracked to spare them.
 */
import type { ScopedRoot } from "./scoped-root.ts";

/** Physical paths the current layer has written, plus every ancestor of each. */
export class LayerPaths {
  readonly #paths = new Set<string>();

  add(physical: readonly string[]): void {
    for (let length = physical.length; length > 0; length--) {
      const key = physical.slice(0, length).join("/");
      if (this.#paths.has(key)) return; // its ancestors were added with it
      this.#paths.add(key);
    }
  }

  has(physical: readonly string[]): boolean {
    return this.#paths.has(physical.join("/"));
  }

  clear(): void {
    this.#paths.clear();
  }
}

/**
 * Removes what lower layers left at `physical`: all of it when the current layer wrote nothing
 * there; otherwise, inside a directory, the children the current layer did not write.
 */
export async function removeFromLowerLayers(
  root: ScopedRoot,
  layer: LayerPaths,
  physical: readonly string[],
): Promise<void> {
  if (!layer.has(physical)) {
    await root.remove(physical);
    return;
  }
  const stats = await root.lstat(physical);
  if (!stats?.isDirectory()) return;
  for (const child of await root.list(physical)) {
    await removeFromLowerLayers(root, layer, [...physical, child]);
  }
}

/** Opaque directory: removes every lower-layer child of the directory at `physical`. */
export async function clearLowerLayers(
  root: ScopedRoot,
  layer: LayerPaths,
  physical: readonly string[],
): Promise<void> {
  for (const child of await root.list(physical)) {
    await removeFromLowerLayers(root, layer, [...physical, child]);
  }
}
