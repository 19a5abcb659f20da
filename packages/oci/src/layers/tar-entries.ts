/**
 * Reads an uncompressed tar stream as a sequence of entries whose bodies are pulled one chunk at a
 * time, so a file is never held in memory whole and a slow disk slows the download down.
 *
 * The archive is read as Go's archive/tar reads it (see tar-header.ts), so that the entries are
 * those containerd, Docker, `tar -t` and Go-based scanners see:
 * - the archive ends at two zero blocks (or where the stream ends cleanly: before a header, after
 *   one zero block, or in the padding after the last entry's data); a zero block followed by
 *   anything else is an error. What follows the end is not read as entries, but it is still read,
 *   to the end of the stream, so that a layer counts as read only once its blob has been verified;
 * - links, symlinks, directories, devices and FIFOs have no data whatever size they declare;
 * - PAX records (`path`, `linkpath`, `size`, `uid`, `gid`, times, xattrs) and GNU long names apply
 *   to the next entry only; global PAX headers are entries of their own that change nothing.
 * Go reads more than volpop writes: GNU sparse files and names that are not UTF-8 are refused.
 */
import { MalformedLayerError } from "./errors.ts";
import type { EntryHeader, EntryType } from "./metadata.ts";
import {
  BLOCK_SIZE,
  blockPadding,
  goInt,
  type HeaderBlock,
  isHeaderOnly,
  isPaxTime,
  isZeroBlock,
  MAX_SPECIAL_FILE_BYTES,
  parseHeaderBlock,
  parsePaxRecords,
  TarFormatError,
  Typeflag,
} from "./tar-header.ts";

/** An uncompressed tar stream, e.g. a Node Readable; it is destroyed if reading stops early. */
export type LayerStream = AsyncIterable<Uint8Array>;

export interface TarEntry {
  readonly header: EntryHeader;
  /** Must be read to its end or not at all; it is drained when left unread. */
  readonly body: AsyncIterable<Buffer>;
}

export interface ReadTarOptions {
  /**
   * Called as the reader consumes bytes of the stream: headers, PAX and long-name records, data,
   * padding, zero blocks and whatever follows the end of the archive. `entry` names the entry whose
   * data or padding they are. Throw to stop reading: the error comes out of the iteration.
   */
  readonly onBytes?: (bytes: number, entry: string | undefined) => void;
}

/** The entries of a tar stream; `return()` stops reading and destroys the input, started or not. */
export interface TarEntries extends AsyncIterableIterator<TarEntry, void, undefined> {
  return(): Promise<IteratorResult<TarEntry, void>>;
}

/**
 * The entries of `input`, in order. Reading starts at once, so an error of the input is this
 * iteration's from now on, never an unhandled one, even before the first `next()`. Errors from
 * `input` come out unchanged (the caller's download failed); errors in the archive become a
 * {@link MalformedLayerError}. The iteration ends only once `input` has ended.
 */
export function readTarEntries(input: LayerStream, options: ReadTarOptions = {}): TarEntries {
  const archive = new ArchiveInput(input, options.onBytes);
  const entries = readEntries(archive);
  return {
    next: () => entries.next(),
    async return() {
      const result = await entries.return(undefined);
      archive.close();
      return result;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

async function* readEntries(archive: ArchiveInput): AsyncGenerator<TarEntry, void, undefined> {
  let finished = false;
  try {
    for (;;) {
      const entry = await nextEntry(archive);
      if (entry === undefined) break;
      const body = new EntryBody(archive, entry.header.name, entry.dataBytes);
      yield { header: entry.header, body };
      await body.drain();
      await archive.skip(Number(blockPadding(entry.dataBytes)), entry.header.name);
    }
    // The rest of the stream is not the archive's, but the blob is only verified at its end.
    await archive.skipToEnd();
    finished = true;
  } finally {
    if (!finished) archive.close();
  }
}

interface NextEntry {
  readonly header: EntryHeader;
  /** Bytes of data after the header (0 for the header-only types). */
  readonly dataBytes: bigint;
}

/** Go's `Reader.next`: meta headers until an entry, or undefined at the end of the archive. */
async function nextEntry(archive: ArchiveInput): Promise<NextEntry | undefined> {
  let pax: Map<string, Buffer> | undefined;
  let longName: Buffer | undefined;
  let longLink: Buffer | undefined;
  for (;;) {
    const block = await readHeader(archive);
    if (block === undefined) return undefined;
    const rawSize = isHeaderOnly(block.typeflag) ? 0n : block.size;
    if (rawSize < 0n) throw malformed(block.name, "declares a negative size");
    switch (block.typeflag) {
      case Typeflag.XHeader:
      case Typeflag.XGlobalHeader: {
        pax = parsed(block.name, parsePaxRecords, await special(archive, rawSize));
        for (const key of pax.keys()) {
          if (key.startsWith("GNU.sparse."))
            throw malformed(block.name, "is a GNU sparse file, not supported");
        }
        if (block.typeflag === Typeflag.XGlobalHeader) {
          // Go hands it over as an entry of its own, and applies its records to nothing.
          const header = {
            name: block.name.toString("utf8"),
            type: "pax-global-header",
            typeflag: "g",
          } as const;
          return { header: { ...header, linkname: null, size: 0, pax: paxText(pax) }, dataBytes: 0n };
        }
        continue;
      }
      case Typeflag.GNULongName:
      case Typeflag.GNULongLink: {
        const data = await special(archive, rawSize);
        const value = data.subarray(0, data.indexOf(0) < 0 ? data.length : data.indexOf(0));
        if (block.typeflag === Typeflag.GNULongName) longName = value;
        else longLink = value;
        continue;
      }
    }
    let name = block.name;
    let linkname = block.linkname;
    let size = block.size;
    if (pax !== undefined) {
      const merged = mergePax(block, pax);
      name = merged.name ?? name;
      linkname = merged.linkname ?? linkname;
      size = merged.size ?? size;
    }
    if (longName !== undefined && longName.length > 0) name = longName;
    if (longLink !== undefined && longLink.length > 0) linkname = longLink;
    let typeflag = block.typeflag;
    if (typeflag === Typeflag.RegA) typeflag = name.at(-1) === 0x2f ? Typeflag.Dir : Typeflag.Reg;
    if (typeflag === Typeflag.GNUSparse) throw malformed(name, "is a GNU sparse file, not supported");
    const dataBytes = isHeaderOnly(typeflag) ? 0n : size;
    if (dataBytes < 0n) throw malformed(name, "declares a negative size");
    if (dataBytes > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(name, `declares ${dataBytes} bytes`);
    return { header: entryHeader(block, typeflag, name, linkname, dataBytes, pax), dataBytes };
  }
}

/**
 * Go's `readHeader`: the next header block, or undefined at the end of the archive (the stream
 * ends before a header or after one zero block, or two zero blocks come).
 */
async function readHeader(archive: ArchiveInput): Promise<HeaderBlock | undefined> {
  const block = await archive.read(BLOCK_SIZE);
  if (block.length === 0) return undefined;
  if (block.length < BLOCK_SIZE) throw malformed(undefined, "the archive ends inside a header");
  if (isZeroBlock(block)) {
    const second = await archive.read(BLOCK_SIZE);
    if (second.length === 0 || (second.length === BLOCK_SIZE && isZeroBlock(second))) return undefined;
    if (second.length < BLOCK_SIZE) throw malformed(undefined, "the archive ends inside a header");
    throw malformed(undefined, "a zero block is followed by a header, not by the end-of-archive marker");
  }
  return parsed(undefined, parseHeaderBlock, block);
}

/** A PAX or GNU long-name record's data (at most 1 MiB, as Go), then its padding. */
async function special(archive: ArchiveInput, size: bigint): Promise<Buffer> {
  if (size > BigInt(MAX_SPECIAL_FILE_BYTES))
    throw malformed(undefined, "a PAX or long-name record is over 1 MiB");
  const data = await archive.read(Number(size));
  if (data.length < size) throw malformed(undefined, "the archive ends inside a PAX or long-name record");
  await archive.skip(Number(blockPadding(size)), undefined);
  return data;
}

/**
 * Go's `mergePAX`: PAX records override the header's fields; an empty value keeps the header's.
 * Numbers and times must parse. Returns the fields that changed.
 */
function mergePax(
  block: HeaderBlock,
  pax: ReadonlyMap<string, Buffer>,
): { name?: Buffer; linkname?: Buffer; size?: bigint } {
  const merged: { name?: Buffer; linkname?: Buffer; size?: bigint } = {};
  for (const [key, value] of pax) {
    if (value.length === 0) continue;
    switch (key) {
      case "path":
        merged.name = value;
        break;
      case "linkpath":
        merged.linkname = value;
        break;
      case "uid":
      case "gid":
      case "size": {
        const number = goInt(value);
        if (number === undefined) throw malformed(block.name, `has a PAX ${key} that is not a number`);
        if (key === "size") merged.size = number;
        break;
      }
      case "atime":
      case "mtime":
      case "ctime":
        if (!isPaxTime(value)) throw malformed(block.name, `has a PAX ${key} that is not a time`);
        break;
    }
  }
  return merged;
}

function entryType(typeflag: number): EntryType | null {
  switch (typeflag) {
    case Typeflag.Reg:
      return "file";
    case Typeflag.Link:
      return "link";
    case Typeflag.Symlink:
      return "symlink";
    case Typeflag.Char:
      return "character-device";
    case Typeflag.Block:
      return "block-device";
    case Typeflag.Dir:
      return "directory";
    case Typeflag.Fifo:
      return "fifo";
    case Typeflag.Cont:
      return "contiguous-file";
    default:
      return null;
  }
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** The entry as the applier reads it: names as text (UTF-8, or refused), PAX records merged. */
function entryHeader(
  block: HeaderBlock,
  typeflag: number,
  name: Buffer,
  linkname: Buffer,
  size: bigint,
  pax: ReadonlyMap<string, Buffer> | undefined,
): EntryHeader {
  const type = entryType(typeflag);
  const text = (bytes: Buffer, what: string): string => {
    try {
      return UTF8.decode(bytes);
    } catch {
      throw malformed(name, `its ${what} is not valid UTF-8`);
    }
  };
  const isLink = type === "link" || type === "symlink";
  const records = pax === undefined ? null : paxText(pax);
  const id = (key: "uid" | "gid", ustar: bigint): number => {
    const value = pax?.get(key);
    return Number(value === undefined || value.length === 0 ? ustar : (goInt(value) ?? ustar));
  };
  return {
    name: text(name, "name"),
    type,
    typeflag: String.fromCharCode(typeflag),
    linkname:
      linkname.length === 0 ? null : isLink ? text(linkname, "link target") : linkname.toString("utf8"),
    size: Number(size),
    // Only the permission bits are used: the low 32 bits hold them, whatever the field held.
    mode: Number(BigInt.asUintN(32, block.mode)),
    uid: id("uid", block.uid),
    gid: id("gid", block.gid),
    mtime: new Date(Number(block.mtime) * 1000),
    uname: block.uname.toString("utf8"),
    gname: block.gname.toString("utf8"),
    devmajor: Number(block.devmajor),
    devminor: Number(block.devminor),
    pax: records,
  };
}

/** PAX records as text (values UTF-8 decoded as they come, binary ones with replacement characters). */
function paxText(pax: ReadonlyMap<string, Buffer>): Record<string, string> {
  const records: Record<string, string> = {};
  for (const [key, value] of pax)
    records[Buffer.from(key, "latin1").toString("utf8")] = value.toString("utf8");
  return records;
}

/** `parse(data)`, its format errors as the layer's. */
function parsed<T>(entry: Buffer | undefined, parse: (data: Buffer) => T, data: Buffer): T {
  try {
    return parse(data);
  } catch (error) {
    if (error instanceof TarFormatError) throw malformed(entry, error.message);
    throw error;
  }
}

function malformed(entry: Buffer | undefined, reason: string): MalformedLayerError {
  return entry === undefined || entry.length === 0
    ? new MalformedLayerError(undefined, `not a valid tar stream: ${reason}`)
    : new MalformedLayerError(entry.toString("utf8"), reason);
}

/** An entry's data, pulled from the archive as its consumer reads it. */
class EntryBody implements AsyncIterable<Buffer> {
  readonly #archive: ArchiveInput;
  readonly #entry: string;
  #remaining: number;

  constructor(archive: ArchiveInput, entry: string, bytes: bigint) {
    this.#archive = archive;
    this.#entry = entry;
    this.#remaining = Number(bytes);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer, void, undefined> {
    while (this.#remaining > 0) {
      const chunk = await this.#archive.next(this.#remaining, this.#entry);
      if (chunk.length === 0) {
        throw new MalformedLayerError(this.#entry, "the archive ends inside its data");
      }
      this.#remaining -= chunk.length;
      yield chunk;
    }
  }

  async drain(): Promise<void> {
    for await (const _chunk of this) {
      // discarded: the entry is skipped, but the stream must move past its bytes
    }
  }
}

/** The input stream, read in pieces of the size the archive calls for; counts what it consumes. */
class ArchiveInput {
  readonly #input: LayerStream;
  readonly #iterator: AsyncIterator<Uint8Array>;
  readonly #onBytes: ((bytes: number, entry: string | undefined) => void) | undefined;
  #pending: Promise<IteratorResult<Uint8Array>> | undefined;
  #chunk: Buffer = Buffer.alloc(0);
  #ended = false;

  constructor(input: LayerStream, onBytes: ((bytes: number, entry: string | undefined) => void) | undefined) {
    this.#input = input;
    this.#onBytes = onBytes;
    this.#iterator = input[Symbol.asyncIterator]();
    // Asking for the first chunk now makes a Node stream's iterator listen for the stream's errors:
    // one that fails before the caller starts reading fails the first read, not the process.
    this.#pending = this.#iterator.next();
    this.#pending.catch(() => undefined);
  }

  /** The next piece of at most `max` bytes, counted for `entry`; empty at the end of the stream. */
  async next(max: number, entry: string | undefined): Promise<Buffer> {
    while (this.#chunk.length === 0) {
      if (this.#ended) return this.#chunk;
      const pending = this.#pending ?? this.#iterator.next();
      this.#pending = undefined;
      const { done, value } = await pending;
      if (done) this.#ended = true;
      else
        this.#chunk = Buffer.isBuffer(value)
          ? value
          : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    }
    const piece = this.#chunk.subarray(0, max);
    this.#chunk = this.#chunk.subarray(piece.length);
    this.#onBytes?.(piece.length, entry);
    return piece;
  }

  /** Exactly `size` bytes, or fewer when the stream ends first. */
  async read(size: number, entry?: string): Promise<Buffer> {
    const pieces: Buffer[] = [];
    let got = 0;
    while (got < size) {
      const piece = await this.next(size - got, entry);
      if (piece.length === 0) break;
      pieces.push(piece);
      got += piece.length;
    }
    return pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces);
  }

  /**
   * Skips `size` bytes of padding. The stream may end among them: Go reads that as the end of the
   * archive, and so does the next header's read.
   */
  async skip(size: number, entry: string | undefined): Promise<void> {
    await this.read(size, entry);
  }

  async skipToEnd(): Promise<void> {
    while ((await this.next(Number.MAX_SAFE_INTEGER, undefined)).length > 0) {
      // discarded: after the end of the archive
    }
  }

  /** Stops reading: the input is destroyed. */
  close(): void {
    this.#ended = true;
    this.#iterator.return?.().catch(() => undefined);
    (this.#input as { destroy?: () => void }).destroy?.();
  }
}
