/**
 * Test helpers for the layer applier: tar streams built in memory, temporary volumes, and a
 * snapshot of a directory tree that tests compare exactly.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { type ApplyOptions, type ApplyTotals, LayerApplier } from "@volpop/oci";
import { type Header, pack } from "tar-stream";

export interface TestEntry {
  readonly name: string;
  /** Default: `file`. */
  readonly type?: Header["type"];
  /** A regular file's contents. */
  readonly content?: string | Buffer;
  readonly linkname?: string;
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly mtime?: Date;
  readonly pax?: Record<string, string>;
}

/** Every entry's default mtime, so trees snapshot the same on every run. */
export const TEST_MTIME = new Date("2024-01-02T03:04:05Z");

/** An uncompressed layer holding `entries`, in order, as the Node stream callers will pass. */
export function tarOf(entries: readonly TestEntry[]): Readable {
  const tar = pack();
  for (const entry of entries) {
    const header = {
      name: entry.name,
      type: entry.type ?? "file",
      mtime: entry.mtime ?? TEST_MTIME,
      ...(entry.linkname === undefined ? {} : { linkname: entry.linkname }),
      ...(entry.mode === undefined ? {} : { mode: entry.mode }),
      ...(entry.uid === undefined ? {} : { uid: entry.uid }),
      ...(entry.gid === undefined ? {} : { gid: entry.gid }),
      ...(entry.pax === undefined ? {} : { pax: entry.pax }),
    };
    if (header.type === "file" || header.type === "contiguous-file") {
      tar.entry(header, entry.content ?? "");
    } else {
      tar.entry(header);
    }
  }
  tar.finalize();
  return Readable.from(tar, { objectMode: false });
}

/**
 * A layer whose one file header declares `size` bytes, followed by a little data and then
 * nothing: the stream never ends, so only an applier that refuses the header finishes.
 */
export function bombOf(name: string, size: number): Readable {
  const tar = pack();
  const body = tar.entry({ name, type: "file", size, mtime: TEST_MTIME });
  body.write(Buffer.alloc(4096, 0x61));
  return Readable.from(tar, { objectMode: false });
}

/** A fresh directory under the OS temporary directory; remove it with {@link removeTempDir}. */
export function makeTempDir(prefix = "volpop-layers-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeTempDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Applies `layers` in order into `target` and finishes. */
export async function applyLayers(
  target: string,
  layers: readonly (readonly TestEntry[])[],
  options: Omit<ApplyOptions, "target"> = {},
): Promise<ApplyTotals> {
  const applier = new LayerApplier({ ...options, target });
  for (const layer of layers) await applier.applyLayer(tarOf(layer));
  return applier.finish();
}

export interface SnapshotOptions {
  /** Add `uid:gid` to every line. */
  readonly owners?: boolean;
  /** Add the mtime in milliseconds. */
  readonly times?: boolean;
  /** Relative paths (and everything below them) to leave out. */
  readonly exclude?: readonly string[];
}

/**
 * Every path below `dir` (not `dir` itself), sorted, mapped to a line such as `dir 755`,
 * `file 644 "contents"` or `symlink -> ../target`. Nothing is followed.
 */
export function snapshotTree(dir: string, options: SnapshotOptions = {}): Record<string, string> {
  const tree: Record<string, string> = {};
  const visit = (relative: string): void => {
    for (const name of fs.readdirSync(path.join(dir, relative)).sort()) {
      const child = relative === "" ? name : `${relative}/${name}`;
      if (options.exclude?.includes(child)) continue;
      const absolute = path.join(dir, child);
      const stats = fs.lstatSync(absolute);
      const mode = (stats.mode & 0o7777).toString(8);
      let line: string;
      if (stats.isDirectory()) line = `dir ${mode}`;
      else if (stats.isSymbolicLink()) line = `symlink -> ${fs.readlinkSync(absolute)}`;
      else if (stats.isFile()) line = `file ${mode} ${JSON.stringify(fs.readFileSync(absolute, "utf8"))}`;
      else line = `other ${stats.mode.toString(8)}`;
      if (options.owners) line += ` ${stats.uid}:${stats.gid}`;
      if (options.times) line += ` @${stats.mtimeMs}`;
      tree[child] = line;
      if (stats.isDirectory()) visit(child);
    }
  };
  visit("");
  return tree;
}

/**
 * A volume with a world around it to protect: `<root>/target` is the target, and `<root>` also
 * holds a sentinel file and a sibling directory, `<tmp>` an outside file.
 *
 * `<root>` sits {@link SANDBOX_DEPTH} directories below `<tmp>`, so that if the applier ever
 * followed symlinks the way the kernel does, the `..` chains a hostile test layer can build would
 * still end inside `<tmp>` (and fail the test) rather than reach and damage the machine running
 * it. For the same reason, tests aim symlinks at absolute paths no higher than `<root>`.
 */
export interface GuardedVolume {
  readonly tmp: string;
  readonly root: string;
  readonly target: string;
  /** Everything in `<tmp>` but the target, with modes, owners and mtimes; compare before and after. */
  outside(): Record<string, string>;
  remove(): void;
}

/**
 * More than the deepest `..` chain the property test can build: 18 symlinks of at most 2 `..`
 * each, aimed at most as high as `<root>`, plus a name's own 5. Not much more: every level
 * makes each path lookup in the sandbox longer.
 */
export const SANDBOX_DEPTH = 48;

export function guardedVolume(): GuardedVolume {
  const tmp = makeTempDir("volpop-guarded-");
  const root = path.join(tmp, ...Array<string>(SANDBOX_DEPTH).fill("d"), "root");
  const target = path.join(root, "target");
  fs.mkdirSync(path.join(root, "sibling", "nested"), { recursive: true });
  fs.mkdirSync(target);
  fs.writeFileSync(path.join(root, "sentinel.txt"), "sentinel");
  fs.writeFileSync(path.join(root, "sibling", "file.txt"), "sibling");
  fs.writeFileSync(path.join(tmp, "outside.txt"), "outside");
  const old = new Date("2000-01-01T00:00:00Z");
  for (const file of ["sentinel.txt", "sibling/file.txt", "sibling/nested", "sibling"]) {
    fs.utimesSync(path.join(root, file), old, old);
  }
  fs.utimesSync(path.join(tmp, "outside.txt"), old, old);
  const targetFromTmp = path.relative(tmp, target);
  return {
    tmp,
    root,
    target,
    outside: () => snapshotTree(tmp, { owners: true, times: true, exclude: [targetFromTmp] }),
    remove: () => removeTempDir(tmp),
  };
}
