/**
 * Layer contents written as data: files, directories, links, OCI whiteouts and opaque markers,
 * and raw tar headers for archives no honest tool would write (`../` names, absolute links,
 * devices, setuid bits…), so extraction can be tested against hostile layers.
 */
import { once } from "node:events";
import { Readable } from "node:stream";
import { type Header, type Pack, pack as tarPack } from "tar-stream";
import { randomBytesStream } from "./random-bytes.ts";

/** Ownership, permissions and time shared by every kind of entry. */
export interface EntryAttributes {
  /** Permission bits (setuid/setgid/sticky included). Default 0o644 for files, 0o755 for directories. */
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly uname?: string;
  readonly gname?: string;
  /** Default: the Unix epoch, so that the same spec always makes the same layer digest. */
  readonly mtime?: Date;
  /** PAX records (`SCHILY.xattr.user.x`, long names…). */
  readonly pax?: Readonly<Record<string, string>>;
}

/** Content generated on the fly: {@link randomBytesStream} of `size` bytes. */
export interface RandomContent {
  readonly randomBytes: number;
  readonly seed?: string;
}

export type TreeEntry =
  | (EntryAttributes & {
      readonly type: "file";
      readonly path: string;
      readonly content?: string | Uint8Array | RandomContent;
    })
  | (EntryAttributes & { readonly type: "dir"; readonly path: string })
  | (EntryAttributes & { readonly type: "symlink"; readonly path: string; readonly target: string })
  | (EntryAttributes & { readonly type: "hardlink"; readonly path: string; readonly target: string })
  /** Deletes `path` from lower layers: an empty `.wh.<name>` beside it. */
  | (EntryAttributes & { readonly type: "whiteout"; readonly path: string })
  /** Hides everything lower layers put in directory `path`: `<path>/.wh..wh..opq`. */
  | (EntryAttributes & { readonly type: "opaque"; readonly path: string })
  /** A header written as given (no checks, no defaults beyond tar-stream's), with optional content. */
  | { readonly type: "raw"; readonly header: RawHeader; readonly content?: Uint8Array };

/** A tar header as tar-stream takes it: every field but the name optional, PAX records included. */
export type RawHeader = Partial<Omit<Header, "pax">> & {
  readonly name: string;
  readonly pax?: Readonly<Record<string, string>>;
};

const EPOCH = new Date(0);

/** The bytes a content spec stands for (in memory: for comparing small layers). */
export function contentBytes(content: string | Uint8Array | RandomContent | undefined): number {
  if (content === undefined) return 0;
  if (typeof content === "string") return Buffer.byteLength(content);
  if (content instanceof Uint8Array) return content.byteLength;
  return content.randomBytes;
}

/** The tar archive of `entries`, streamed: contents are generated as the archive is read. */
export function tarStream(entries: readonly TreeEntry[]): Readable {
  const pack = tarPack();
  fill(pack, entries).then(
    () => pack.finalize(),
    (error: unknown) => pack.destroy(error as Error),
  );
  return Readable.from(pack);
}

/** The tar archive of `entries`, in memory. */
export async function tarBytes(entries: readonly TreeEntry[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of tarStream(entries)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function fill(pack: Pack, entries: readonly TreeEntry[]): Promise<void> {
  for (const entry of entries) {
    if (entry.type === "raw") {
      await add(pack, { ...entry.header }, entry.content);
      continue;
    }
    const header = attributes(entry);
    switch (entry.type) {
      case "file": {
        const content = entry.content;
        if (content === undefined || typeof content === "string" || content instanceof Uint8Array) {
          await add(
            pack,
            { ...header, name: entry.path, type: "file" },
            content === undefined ? Buffer.alloc(0) : Buffer.from(content),
          );
        } else {
          await addStream(
            pack,
            { ...header, name: entry.path, type: "file", size: content.randomBytes },
            randomBytesStream(content.randomBytes, content.seed),
          );
        }
        break;
      }
      case "dir":
        await add(pack, { ...header, name: entry.path, type: "directory", mode: entry.mode ?? 0o755 });
        break;
      case "symlink":
        await add(pack, { ...header, name: entry.path, type: "symlink", linkname: entry.target });
        break;
      case "hardlink":
        await add(pack, { ...header, name: entry.path, type: "link", linkname: entry.target });
        break;
      case "whiteout":
        await add(
          pack,
          { ...header, name: beside(entry.path, `.wh.${basename(entry.path)}`), type: "file" },
          Buffer.alloc(0),
        );
        break;
      case "opaque":
        await add(
          pack,
          { ...header, name: `${entry.path.replace(/\/+$/, "")}/.wh..wh..opq`, type: "file" },
          Buffer.alloc(0),
        );
        break;
    }
  }
}

function attributes(entry: EntryAttributes): RawHeader {
  return {
    name: "",
    mode: entry.mode ?? 0o644,
    uid: entry.uid ?? 0,
    gid: entry.gid ?? 0,
    mtime: entry.mtime ?? EPOCH,
    ...(entry.uname === undefined ? {} : { uname: entry.uname }),
    ...(entry.gname === undefined ? {} : { gname: entry.gname }),
    ...(entry.pax === undefined ? {} : { pax: entry.pax }),
  };
}

function add(pack: Pack, header: RawHeader, content?: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error | null): void => (error ? reject(error) : resolve());
    const fields = { mtime: EPOCH, ...header };
    // tar-stream waits for the body of a regular file (the type it infers when none is given).
    const hasBody = header.type === undefined || header.type === "file" || header.type === "contiguous-file";
    if (content === undefined && !hasBody) pack.entry(fields, done);
    else pack.entry(fields, Buffer.from(content ?? []), done);
  });
}

// Writes a large entry chunk by chunk, waiting for the archive's reader, so memory stays flat.
async function addStream(pack: Pack, header: RawHeader, content: Readable): Promise<void> {
  const finished = new Promise<void>((resolve, reject) => {
    const sink = pack.entry({ mtime: EPOCH, ...header }, (error) => (error ? reject(error) : resolve()));
    (async () => {
      for await (const chunk of content) {
        if (!sink.write(chunk as Buffer)) await once(sink, "drain");
      }
      sink.end(undefined);
    })().catch((error: unknown) => sink.destroy(error as Error));
  });
  await finished;
}

function basename(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}

function beside(path: string, name: string): string {
  const trimmed = path.replace(/\/+$/, "");
  const slash = trimmed.lastIndexOf("/");
  return slash < 0 ? name : `${trimmed.slice(0, slash)}/${name}`;
}
