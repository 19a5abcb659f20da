/** Test helpers: temporary directories, trees written from a literal and read back as one. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PopulateRequest, VolumeMode } from "@volpop/sdk/fastpath";

export type TreeSpec = { readonly [name: string]: TreeNode };
export type TreeNode =
  | string
  | { readonly file: string | Buffer; readonly mode?: number; readonly mtime?: Date }
  | { readonly dir: TreeSpec; readonly mode?: number }
  | { readonly link: string };

export function temporaryDir(prefix = "fastpath-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Writes `spec` below `root` (which may exist). Directory modes are set after their contents. */
export function writeTree(root: string, spec: TreeSpec): void {
  fs.mkdirSync(root, { recursive: true });
  for (const [name, node] of Object.entries(spec)) {
    const target = path.join(root, name);
    if (typeof node === "string") fs.writeFileSync(target, node);
    else if ("file" in node) {
      fs.writeFileSync(target, node.file);
      if (node.mode !== undefined) fs.chmodSync(target, node.mode);
      if (node.mtime) fs.utimesSync(target, node.mtime, node.mtime);
    } else if ("dir" in node) {
      writeTree(target, node.dir);
      if (node.mode !== undefined) fs.chmodSync(target, node.mode);
    } else fs.symlinkSync(node.link, target);
  }
}

/**
 * A tree as one comparable object: `{ "a/b.txt": "file 644 hello", "a": "dir 755", "l": "link -> x" }`.
 * `lost+found` and the marker are listed like anything else.
 */
export function readTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (relative: string) => {
    for (const name of fs.readdirSync(path.join(root, relative)).sort()) {
      const entry = relative ? `${relative}/${name}` : name;
      const full = path.join(root, entry);
      const stats = fs.lstatSync(full);
      const mode = (stats.mode & 0o7777).toString(8);
      if (stats.isSymbolicLink()) out[entry] = `link -> ${fs.readlinkSync(full)}`;
      else if (stats.isDirectory()) {
        out[entry] = `dir ${mode}`;
        walk(entry);
      } else out[entry] = `file ${mode} ${fs.readFileSync(full, "utf8")}`;
    }
  };
  walk("");
  return out;
}

export const GOLDEN_SOURCE = { group: "fastpath.volpop.dev", kind: "GoldenContent" } as const;

export function sourceJson(content: string): string {
  return JSON.stringify({
    apiVersion: "fastpath.volpop.dev/v1alpha1",
    kind: "GoldenContent",
    metadata: { name: "golden", namespace: "default" },
    spec: { content },
  });
}

/** A valid Filesystem Populate request for `handle` from golden content `content`. */
export function populateRequest(overrides: Partial<PopulateRequest> = {}): PopulateRequest {
  return PopulateRequest.fromPartial({
    operationId: "5f0c6a6e-3b7c-4f8e-9a1d-000000000001",
    attempt: 1,
    csiDriver: "hostpath.csi.k8s.io",
    volumeHandle: "vol-1",
    volumeAttributes: { kind: "filesystem" },
    capacityBytes: 1024 * 1024 * 1024,
    volumeMode: VolumeMode.VOLUME_MODE_FILESYSTEM,
    sourceKind: GOLDEN_SOURCE,
    sourceJson: sourceJson("base"),
    ...overrides,
  });
}

/** A sparse file of `size` bytes: large to copy, free on disk and quick to read. */
export function sparseFile(file: string, size: number, head = ""): void {
  const handle = fs.openSync(file, "w");
  try {
    if (head) fs.writeSync(handle, head, 0);
    fs.ftruncateSync(handle, size);
  } finally {
    fs.closeSync(handle);
  }
}
