/**
 * The `GoldenContent` source (`fastpath.volpop.dev/v1alpha1`): names a piece of content an admin
 * prepared on every node, which new volumes are filled from.
 */

export const GOLDEN_CONTENT_GROUP = "fastpath.volpop.dev";
export const GOLDEN_CONTENT_VERSION = "v1alpha1";
export const GOLDEN_CONTENT_KIND = "GoldenContent";
export const GOLDEN_CONTENT_PLURAL = "goldencontents";

/**
 * A plain identifier: it becomes a path component under the golden directory, so no "/", and it
 * cannot start with "." (no ".", "..", hidden names). The CRD's `pattern` is the same expression.
 */
export const CONTENT_NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$";
const CONTENT_NAME = new RegExp(CONTENT_NAME_PATTERN);

/** Block content lives in `<name>.img`; a tree named so would be ambiguous with it. */
export const BLOCK_IMAGE_SUFFIX = ".img";

export interface GoldenContentSpec {
  /** Name of the golden content: `<golden dir>/<content>/` (Filesystem), `<content>.img` (Block). */
  readonly content: string;
}

export type GoldenContentSpecCheck =
  | { readonly ok: true; readonly spec: GoldenContentSpec }
  | { readonly ok: false; readonly problems: readonly string[] };

/** Why `name` cannot name golden content, or undefined when it can. */
export function contentNameProblem(name: string): string | undefined {
  if (!CONTENT_NAME.test(name)) {
    return `spec.content ${JSON.stringify(name.slice(0, 100))} must be a plain identifier (letters, digits, '.', '_', '-'; starting with a letter or digit; at most 63 characters)`;
  }
  if (name.endsWith(BLOCK_IMAGE_SUFFIX)) {
    return `spec.content must not end with "${BLOCK_IMAGE_SUFFIX}": the suffix is added for Block volumes`;
  }
  return undefined;
}

/** Checks an untrusted `spec`: the name may only ever resolve to an entry directly in the golden directory. */
export function checkGoldenContentSpec(spec: unknown): GoldenContentSpecCheck {
  const fields = typeof spec === "object" && spec !== null ? (spec as Record<string, unknown>) : {};
  const { content } = fields;
  if (typeof content !== "string" || content === "") {
    return { ok: false, problems: ["spec.content is required"] };
  }
  const problem = contentNameProblem(content);
  if (problem) return { ok: false, problems: [problem] };
  return { ok: true, spec: { content } };
}
