/**
 * Tar header blocks and PAX records, read field by field as Go's archive/tar reads them
 * (`reader.go`, `strconv.go`, `format.go`), so that a layer means here what it means to
 * containerd, Docker and the scanners built on Go: the same checksum rules, the same numbers
 * (octal with spaces and NULs trimmed, or base-256), the same formats (V7, USTAR, PAX, GNU, star)
 * and the same refusals. Pure: tar-entries.ts feeds it the blocks of a stream.
 *
 * Numbers are bigints, as Go's are int64. Names stay bytes until the entry is complete.
 */

/** Bytes in a tar block. */
export const BLOCK_SIZE = 512;

/** Go's `maxSpecialFileSize`: the most a PAX or GNU long-name record may hold. */
export const MAX_SPECIAL_FILE_BYTES = 1 << 20;

/** A header or record Go's reader refuses (its `ErrHeader`); the reader names the entry. */
export class TarFormatError extends Error {
  override name = "TarFormatError";
}

/** One header block as Go's `readHeader` returns it, before PAX records and GNU long names apply. */
export interface HeaderBlock {
  /** The typeflag byte (`0x30` for `'0'`, `0` for the old regular-file flag). */
  readonly typeflag: number;
  readonly name: Buffer;
  readonly linkname: Buffer;
  readonly size: bigint;
  readonly mode: bigint;
  readonly uid: bigint;
  readonly gid: bigint;
  /** Seconds since the epoch. */
  readonly mtime: bigint;
  readonly uname: Buffer;
  readonly gname: Buffer;
  readonly devmajor: bigint;
  readonly devminor: bigint;
}

export const Typeflag = {
  RegA: 0x00,
  Reg: 0x30,
  Link: 0x31,
  Symlink: 0x32,
  Char: 0x33,
  Block: 0x34,
  Dir: 0x35,
  Fifo: 0x36,
  Cont: 0x37,
  XHeader: 0x78,
  XGlobalHeader: 0x67,
  GNUSparse: 0x53,
  GNULongName: 0x4c,
  GNULongLink: 0x4b,
} as const;

/** Types whose size Go ignores: they have no data, and the next header follows at once. */
export function isHeaderOnly(typeflag: number): boolean {
  return typeflag >= Typeflag.Link && typeflag <= Typeflag.Fifo;
}

/** Go's `blockPadding`: zeros after `size` bytes of data up to the next block. */
export function blockPadding(size: bigint): bigint {
  return -size & BigInt(BLOCK_SIZE - 1);
}

export function isZeroBlock(block: Buffer): boolean {
  for (const byte of block) if (byte !== 0) return false;
  return true;
}

type Format = "v7" | "ustar" | "gnu" | "star";

/**
 * Decodes a (non-zero) header block.
 * @throws TarFormatError when the checksum is wrong or a number does not parse (Go's `ErrHeader`)
 */
export function parseHeaderBlock(block: Buffer): HeaderBlock {
  const format = formatOf(block);
  if (format === undefined) throw new TarFormatError("a header's checksum does not match");
  const p = new NumberParser();
  const name = cString(block.subarray(0, 100));
  const header: { -readonly [K in keyof HeaderBlock]: HeaderBlock[K] } = {
    typeflag: block[156] ?? 0,
    name,
    linkname: cString(block.subarray(157, 257)),
    size: p.numeric(block.subarray(124, 136)),
    mode: p.numeric(block.subarray(100, 108)),
    uid: p.numeric(block.subarray(108, 116)),
    gid: p.numeric(block.subarray(116, 124)),
    mtime: p.numeric(block.subarray(136, 148)),
    uname: Buffer.alloc(0),
    gname: Buffer.alloc(0),
    devmajor: 0n,
    devminor: 0n,
  };
  if (format !== "v7") {
    header.uname = cString(block.subarray(265, 297));
    header.gname = cString(block.subarray(297, 329));
    header.devmajor = p.numeric(block.subarray(329, 337));
    header.devminor = p.numeric(block.subarray(337, 345));
    let prefix: Buffer = Buffer.alloc(0);
    if (format === "ustar") prefix = cString(block.subarray(345, 500));
    else if (format === "star") {
      prefix = cString(block.subarray(345, 476));
      p.numeric(block.subarray(476, 488));
      p.numeric(block.subarray(488, 500));
    } else {
      // GNU's atime and ctime; when they do not parse, Go takes an ASCII prefix there, as Go
      // writers before 1.8 put one (golang.org/issue/12594). Their errors are not the header's.
      const times = new NumberParser();
      if (block[345] !== 0) times.numeric(block.subarray(345, 357));
      if (block[357] !== 0) times.numeric(block.subarray(357, 369));
      const candidate = cString(block.subarray(345, 500));
      if (times.failed && candidate.every((byte) => byte < 0x80)) prefix = candidate;
    }
    if (prefix.length > 0) header.name = Buffer.concat([prefix, Buffer.from("/"), name]);
  }
  if (p.failed) throw new TarFormatError("a header holds a number that does not parse");
  return header;
}

/** Go's `getFormat`: the checksum (unsigned or signed) must match, then the magic decides. */
function formatOf(block: Buffer): Format | undefined {
  const p = new NumberParser();
  const recorded = p.octal(block.subarray(148, 156));
  let unsigned = 0n;
  let signed = 0n;
  for (let i = 0; i < BLOCK_SIZE; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
    unsigned += BigInt(byte);
    signed += BigInt(byte > 127 ? byte - 256 : byte);
  }
  if (p.failed || (recorded !== unsigned && recorded !== signed)) return undefined;
  const magic = block.toString("latin1", 257, 263);
  const version = block.toString("latin1", 263, 265);
  const trailer = block.toString("latin1", 508, 512);
  if (magic === "ustar\u0000" && trailer === "tar\u0000") return "star";
  if (magic === "ustar\u0000") return "ustar";
  if (magic === "ustar " && version === " \u0000") return "gnu";
  return "v7";
}

/** Go's `parser`: numbers of a header; any that fails marks the whole header bad. */
class NumberParser {
  failed = false;

  /** Base-256 when the first bit is set (two's complement), else octal. */
  numeric(field: Buffer): bigint {
    const first = field[0] ?? 0;
    if ((first & 0x80) === 0) return this.octal(field);
    const invert = (first & 0x40) !== 0 ? 0xff : 0;
    let value = 0n;
    for (const [index, byte] of field.entries()) {
      const bits = index === 0 ? (byte ^ invert) & 0x7f : byte ^ invert;
      if (value >> 56n > 0n) return this.#fail();
      value = (value << 8n) | BigInt(bits);
    }
    if (value >> 63n > 0n) return this.#fail();
    return invert === 0xff ? -value - 1n : value;
  }

  /** Octal digits with leading and trailing spaces and NULs trimmed, up to the first NUL left. */
  octal(field: Buffer): bigint {
    let start = 0;
    let end = field.length;
    while (start < end && (field[start] === 0x20 || field[start] === 0)) start++;
    while (end > start && (field[end - 1] === 0x20 || field[end - 1] === 0)) end--;
    if (start === end) return 0n;
    const digits = cString(field.subarray(start, end)).toString("latin1");
    if (!/^[0-7]+$/.test(digits)) return this.#fail();
    const value = BigInt(`0o${digits}`);
    if (value > 0xffff_ffff_ffff_ffffn) return this.#fail();
    return BigInt.asIntN(64, value);
  }

  #fail(): bigint {
    this.failed = true;
    return 0n;
  }
}

/** Go's `parseString`: the bytes up to the first NUL. */
export function cString(field: Buffer): Buffer {
  const nul = field.indexOf(0);
  return nul < 0 ? field : field.subarray(0, nul);
}

/**
 * The records of a PAX header's data, in order, a later one for a key replacing an earlier one,
 * as Go's `parsePAX`. Keys are read byte for byte (latin1), values stay bytes.
 * @throws TarFormatError for a malformed record, as Go's `ErrHeader`
 */
export function parsePaxRecords(data: Buffer): Map<string, Buffer> {
  const records = new Map<string, Buffer>();
  let rest = data;
  while (rest.length > 0) {
    const space = rest.indexOf(0x20);
    if (space < 0) throw new TarFormatError("a PAX record has no length");
    const length = goInt(rest.subarray(0, space));
    if (length === undefined || length < 5n || length > BigInt(rest.length)) {
      throw new TarFormatError("a PAX record's length is wrong");
    }
    const end = Number(length);
    if (end <= space + 1 || rest[end - 1] !== 0x0a)
      throw new TarFormatError("a PAX record is not terminated");
    const record = rest.subarray(space + 1, end - 1);
    const equals = record.indexOf(0x3d);
    if (equals < 0) throw new TarFormatError("a PAX record has no '='");
    const key = record.subarray(0, equals).toString("latin1");
    const value = record.subarray(equals + 1);
    const textual = key === "path" || key === "linkpath" || key === "uname" || key === "gname";
    if (key === "" || (textual ? value.includes(0) : key.includes("\u0000"))) {
      throw new TarFormatError("a PAX record holds a NUL byte");
    }
    records.set(key, value);
    rest = rest.subarray(end);
  }
  return records;
}

/** Go's `strconv.ParseInt(s, 10, 64)`; undefined where it fails. */
export function goInt(text: Buffer | string): bigint | undefined {
  const value = typeof text === "string" ? text : text.toString("latin1");
  if (!/^[+-]?[0-9]+$/.test(value)) return undefined;
  const parsed = BigInt(value);
  return parsed >= -(2n ** 63n) && parsed < 2n ** 63n ? parsed : undefined;
}

/** Go's `parsePAXTime`: whether `text` is a valid PAX time (seconds, then optional fraction). */
export function isPaxTime(text: Buffer): boolean {
  const value = text.toString("latin1");
  const dot = value.indexOf(".");
  const seconds = dot < 0 ? value : value.slice(0, dot);
  return goInt(seconds) !== undefined && (dot < 0 || /^[0-9]*$/.test(value.slice(dot + 1)));
}
