/**
 * The `Hello` source (`hello.example.com/v1alpha1`, as upstream's example) and what it writes. Its
 * spec's one definition gives the type, the validator (controller and pod) and deploy/crd.yaml's schema.
 */
import { defineSpec, refine, type Static, Type } from "@volpop/sdk/run";

export const HELLO_GROUP = "hello.example.com";
export const HELLO_VERSION = "v1alpha1";
export const HELLO_KIND = "Hello";
export const HELLO_PLURAL = "hellos";

/** Contents larger than this are refused: a Hello is for small files, and the object lives in etcd. */
export const MAX_FILE_CONTENTS_BYTES = 64 * 1024;

export const helloSpec = defineSpec(
  Type.Object(
    {
      fileName: refine(
        Type.String({
          description: 'Name of the file, directly in the volume\'s root (no "/", "." or "..").',
          minLength: 1,
          maxLength: 255,
          "x-kubernetes-validations": [
            { rule: "!self.contains('/')", message: "fileName must be a plain file name without '/'" },
            { rule: "self != '.' && self != '..'", message: "fileName must not be '.' or '..'" },
          ],
        }),
        // The file can only ever land directly inside the volume.
        (name) =>
          /[/\0]/.test(name) || name === "." || name === ".."
            ? `${JSON.stringify(name)} must be a plain file name (no "/", ".", ".." or NUL)`
            : Buffer.byteLength(name) > 255
              ? "is longer than 255 bytes"
              : undefined,
      ),
      fileContents: refine(
        Type.String({
          description: "Contents of the file; a newline is added. At most 64 KiB.",
          maxLength: MAX_FILE_CONTENTS_BYTES,
        }),
        (contents) =>
          Buffer.byteLength(contents) > MAX_FILE_CONTENTS_BYTES
            ? `is larger than ${MAX_FILE_CONTENTS_BYTES} bytes`
            : undefined,
      ),
    },
    { description: "The file to write." },
  ),
);

export type HelloSpec = Static<typeof helloSpec.schema>;

/** The bytes written into the volume: upstream's hello populator adds a trailing newline. */
export function helloFileBytes(spec: HelloSpec): Buffer {
  return Buffer.from(`${spec.fileContents}\n`, "utf8");
}
