/**
 * Turns a tar entry's name into path components relative to the image root, lexically, before
 * anything touches the disk. This is the first of two guards: names cannot climb out with `..`
 * here, and the scoped resolver (scoped-root.ts) stops symlinks from doing it later.
 */
import { UnsafeEntryError } from "./errors.ts";

/**
 * The components of `name` (an entry's name or a hard link's target), relative to the image root.
 *
 * A leading `/` is stripped, as GNU tar and containerd do: layers written by some tools carry
 * absolute names, and re-rooting them keeps them inside the volume. `.` and empty components are
 * dropped and `..` removes the previous component; a `..` with nothing left to remove would climb
 * above the root, and the entry is refused rather than clamped, because no honest image does that.
 * An empty result names the root itself.
 */
export function entryComponents(name: string, entry: string = name): string[] {
  if (name.includes("\0")) throw new UnsafeEntryError(entry, "its name contains a NUL byte");
  const components: string[] = [];
  for (const component of name.split("/")) {
    if (component === "" || component === ".") continue;
    if (component === "..") {
      if (components.pop() === undefined) throw new UnsafeEntryError(entry, "escapes the volume");
      continue;
    }
    components.push(component);
  }
  return components;
}

/** Where an image path falls relative to the `subPath` being extracted. */
export type Placement =
  /** At or below the subPath; `relative` is the path from it (empty: the subPath itself). */
  | { readonly kind: "inside"; readonly relative: readonly string[] }
  /** A strict ancestor of the subPath: replacing or removing it replaces the whole subPath. */
  | { readonly kind: "above" }
  /** Elsewhere in the image: not extracted. */
  | { readonly kind: "outside" };

/** Places image path `components` relative to the extracted `subPath` (empty: the whole image). */
export function placeUnder(components: readonly string[], subPath: readonly string[]): Placement {
  const shared = Math.min(components.length, subPath.length);
  for (let i = 0; i < shared; i++) {
    if (components[i] !== subPath[i]) return { kind: "outside" };
  }
  if (components.length < subPath.length) return { kind: "above" };
  return { kind: "inside", relative: components.slice(subPath.length) };
}
