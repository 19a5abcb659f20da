/**
 * Where `spec.blockFile` is in an image, decided entry by entry as the layers are read from the top
 * down: the first layer (from the top) that says anything about the file decides. Names are
 * compared as written, without following symlinks in the image, as `spec.path` is.
 */
import { entryComponents, whiteoutMarkerOf } from "@volpop/oci";

/** What one tar entry says about the block file. */
export type BlockFileEffect =
  /** The entry is the block file, a regular file: its body is the data. */
  | { readonly kind: "file" }
  /** The entry puts something else at the block file's path, or at one of its parent directories' paths. */
  | { readonly kind: "replaced"; readonly by: string }
  /** A whiteout or opaque marker that hides the block file of lower layers (not this layer's). */
  | { readonly kind: "hides-lower" }
  | { readonly kind: "unrelated" };

/** The components of `spec.blockFile`, as entry names are compared. */
export function blockFileComponents(blockFile: string): readonly string[] {
  return entryComponents(blockFile);
}

/**
 * What the entry named `name`, of tar type `type`, does to the block file at `wanted`.
 * @throws UnsafeEntryError for a name that climbs out of the image root, as extraction would
 */
export function blockFileEffect(
  name: string,
  type: string | null | undefined,
  wanted: readonly string[],
): BlockFileEffect {
  const components = entryComponents(name);
  const marker = whiteoutMarkerOf(components);
  if (marker !== undefined) {
    const directory = components.slice(0, -1);
    if (marker.kind === "opaque" && isStrictPrefix(directory, wanted)) return { kind: "hides-lower" };
    if (marker.kind === "whiteout" && isPrefix([...directory, marker.name], wanted)) {
      return { kind: "hides-lower" };
    }
    return { kind: "unrelated" };
  }
  if (isPrefix(components, wanted) && components.length === wanted.length) {
    if (type === "file" || type === "contiguous-file") return { kind: "file" };
    return { kind: "replaced", by: `a ${describeType(type)}` };
  }
  if (isStrictPrefix(components, wanted) && type !== "directory") {
    return { kind: "replaced", by: `a ${describeType(type)} at ${components.join("/")}` };
  }
  return { kind: "unrelated" };
}

function describeType(type: string | null | undefined): string {
  switch (type) {
    case "file":
    case "contiguous-file":
      return "regular file";
    case "link":
      return "hard link";
    case "symlink":
      return "symlink";
    case "directory":
      return "directory";
    default:
      return `${type ?? "unknown"} entry`;
  }
}

function isPrefix(prefix: readonly string[], of: readonly string[]): boolean {
  return prefix.length <= of.length && prefix.every((component, i) => component === of[i]);
}

function isStrictPrefix(prefix: readonly string[], of: readonly string[]): boolean {
  return prefix.length < of.length && isPrefix(prefix, of);
}
