/**
 * Parses an image reference the way container runtimes do (`[registry/]repository[:tag][@digest]`),
 * so that what a user writes in a source means the same image it would mean to `ctr` or a kubelet.
 */
import { VolpopError } from "@volpop/sdk";

export interface ImageReference {
  /** Registry host (and port); `docker.io` when the reference names none. */
  readonly registry: string;
  /** Repository path inside the registry, e.g. `library/busybox`. */
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

/** A reference that is not `[registry/]repository[:tag][@digest]`; the message says which part is wrong. */
export class ImageReferenceError extends VolpopError {
  override name = "ImageReferenceError";

  constructor(message: string, options: ErrorOptions = {}) {
    super("INVALID_IMAGE_REFERENCE", message, options);
  }
}

const DEFAULT_REGISTRY = "docker.io";
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;

export function parseImageReference(input: string): ImageReference {
  const fail = (why: string): never => {
    throw new ImageReferenceError(`image reference ${JSON.stringify(input)}: ${why}`);
  };
  if (input.length === 0 || input.length > 4096) fail("must be 1 to 4096 characters");
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) fail(`digest ${JSON.stringify(digest)} is not <algorithm>:<hex>`);
  }
  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(":");
  if (lastColon > rest.lastIndexOf("/")) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG.test(tag)) fail(`tag ${JSON.stringify(tag)} is not valid`);
  }
  const parts = rest.split("/");
  const first = parts[0] ?? "";
  const hasRegistry =
    parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost");
  const registry = hasRegistry ? first : DEFAULT_REGISTRY;
  const path = hasRegistry ? parts.slice(1) : parts;
  if (path.length === 0 || path.some((p) => !COMPONENT.test(p))) {
    fail("repository must be lower-case path components separated by '/'");
  }
  const repository =
    registry === DEFAULT_REGISTRY && path.length === 1 ? `library/${path[0]}` : path.join("/");
  return {
    registry,
    repository,
    ...(tag === undefined && digest === undefined ? { tag: "latest" } : tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
  };
}
