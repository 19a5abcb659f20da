/**
 * OCI whiteouts (image-spec `layer.md`): a file named `.wh.<name>` deletes `<name>` from lower
 * layers, and `.wh..wh..opq` makes its directory opaque, hiding everything lower layers put in it.
 * Neither marker is itself written to the volume.
 */

export const WHITEOUT_PREFIX = ".wh.";
export const OPAQUE_WHITEOUT = ".wh..wh..opq";

export type WhiteoutMarker =
  | { readonly kind: "opaque" }
  | { readonly kind: "whiteout"; readonly name: string }
  /** Other `.wh..wh.` names are AUFS bookkeeping (e.g. `.wh..wh.plnk`) with no meaning here. */
  | { readonly kind: "aufs-metadata" };

/**
 * What the last component of an entry's name says, or undefined for an ordinary entry. Entries
 * anywhere below a `.wh..wh.` directory are AUFS bookkeeping too, as Docker treats them.
 */
export function whiteoutMarkerOf(components: readonly string[]): WhiteoutMarker | undefined {
  const parents = components.slice(0, -1);
  if (parents.some((component) => component.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`))) {
    return { kind: "aufs-metadata" };
  }
  return whiteoutMarker(components.at(-1) ?? "");
}

/** What one base name says, or undefined for an ordinary entry. */
export function whiteoutMarker(baseName: string): WhiteoutMarker | undefined {
  if (!baseName.startsWith(WHITEOUT_PREFIX)) return undefined;
  if (baseName === OPAQUE_WHITEOUT) return { kind: "opaque" };
  if (baseName.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) return { kind: "aufs-metadata" };
  return { kind: "whiteout", name: baseName.slice(WHITEOUT_PREFIX.length) };
}
