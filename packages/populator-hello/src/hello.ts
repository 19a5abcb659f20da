/**
 * The `Hello` source (`hello.example.com/v1alpha1`, as upstream's example) and what it writes.
 */

export const HELLO_GROUP = "hello.example.com";
export const HELLO_VERSION = "v1alpha1";
export const HELLO_KIND = "Hello";
export const HELLO_PLURAL = "hellos";

/** Contents larger than this are refused: a Hello is for small files, and the object lives in etcd. */
export const MAX_FILE_CONTENTS_BYTES = 64 * 1024;

export interface HelloSpec {
  readonly fileName: string;
  readonly fileContents: string;
}

export type HelloSpecCheck = { ok: true; spec: HelloSpec } | { ok: false; problems: string[] };

/** Checks an untrusted `spec` so that the file can only ever land directly inside the volume. */
export function checkHelloSpec(spec: unknown): HelloSpecCheck {
  const problems: string[] = [];
  const fields = typeof spec === "object" && spec !== null ? (spec as Record<string, unknown>) : {};
  const { fileName, fileContents } = fields;
  if (typeof fileName !== "string" || fileName === "") {
    problems.push("spec.fileName is required");
  } else if (fileName.includes("/") || fileName === "." || fileName === ".." || fileName.includes("\0")) {
    problems.push(
      `spec.fileName ${JSON.stringify(fileName)} must be a plain file name (no "/", ".", ".." or NUL)`,
    );
  } else if (Buffer.byteLength(fileName) > 255) {
    problems.push("spec.fileName is longer than 255 bytes");
  }
  if (typeof fileContents !== "string") {
    problems.push("spec.fileContents is required");
  } else if (Buffer.byteLength(fileContents) > MAX_FILE_CONTENTS_BYTES) {
    problems.push(`spec.fileContents is larger than ${MAX_FILE_CONTENTS_BYTES} bytes`);
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, spec: { fileName: fileName as string, fileContents: fileContents as string } };
}

/** The bytes written into the volume: upstream's hello populator adds a trailing newline. */
export function helloFileBytes(spec: HelloSpec): Buffer {
  return Buffer.from(`${spec.fileContents}\n`, "utf8");
}
