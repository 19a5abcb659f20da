/**
 * Tar archives written block by block, for tests that need bytes no tar writer would produce:
 * any typeflag, size or magic, a wrong or signed checksum, numbers in base-256 or with odd padding,
 * data after the end-of-archive marker. Nothing is checked; every field is written as given.
 */

/** The end-of-archive marker: two zero blocks. */
export const END_OF_ARCHIVE: Buffer = Buffer.alloc(1024);

export interface HeaderFields {
  readonly name: string | Uint8Array;
  /** One character, e.g. `0`, `5`, `x`; `\0` for the old regular-file flag. Default `0`. */
  readonly typeflag?: string;
  /** Default 0. A string is written as given (base-8 text, padding and all). */
  readonly size?: number | string | Uint8Array;
  readonly mode?: number | string | Uint8Array;
  readonly uid?: number | string | Uint8Array;
  readonly gid?: number | string | Uint8Array;
  readonly mtime?: number | string | Uint8Array;
  readonly linkname?: string | Uint8Array;
  /** Default `ustar\0` with version `00`; `gnu` writes `ustar ` and ` \0`; `v7` leaves both empty. */
  readonly format?: "ustar" | "gnu" | "v7" | "star";
  readonly prefix?: string | Uint8Array;
  /** Written instead of the computed checksum: a number in octal, or the field's bytes. */
  readonly checksum?: number | string | Uint8Array;
  /** Write the checksum as the signed sum of the bytes, as some old tars did. */
  readonly signedChecksum?: boolean;
}

/** One 512-byte header block. */
export function headerBlock(fields: HeaderFields): Buffer {
  const block = Buffer.alloc(512);
  put(block, 0, 100, fields.name);
  put(block, 100, 8, numeric(fields.mode ?? 0o644, 8));
  put(block, 108, 8, numeric(fields.uid ?? 0, 8));
  put(block, 116, 8, numeric(fields.gid ?? 0, 8));
  put(block, 124, 12, numeric(fields.size ?? 0, 12));
  put(block, 136, 12, numeric(fields.mtime ?? 0, 12));
  block.write(fields.typeflag ?? "0", 156, 1, "latin1");
  if (fields.linkname !== undefined) put(block, 157, 100, fields.linkname);
  switch (fields.format ?? "ustar") {
    case "ustar":
      block.write("ustar\u000000", 257, "latin1");
      break;
    case "star":
      block.write("ustar\u000000", 257, "latin1");
      block.write("tar\u0000", 508, "latin1");
      break;
    case "gnu":
      block.write("ustar  \u0000", 257, "latin1");
      break;
    case "v7":
      break;
  }
  if (fields.prefix !== undefined) put(block, 345, 155, fields.prefix);
  block.fill(0x20, 148, 156);
  if (fields.checksum !== undefined) {
    put(block, 148, 8, numeric(fields.checksum, 8));
  } else {
    let sum = 0;
    for (const byte of block) sum += fields.signedChecksum && byte > 127 ? byte - 256 : byte;
    put(block, 148, 8, `${(sum >>> 0).toString(8).padStart(6, "0")}\u0000 `);
  }
  return block;
}

/** `data` followed by zeros to the next multiple of 512 bytes. */
export function padded(data: Uint8Array | string): Buffer {
  const bytes = Buffer.from(data);
  return Buffer.concat([bytes, Buffer.alloc((512 - (bytes.length % 512)) % 512)]);
}

/** A whole entry: its header with `size` set to the data's length (unless given), then the data. */
export function entryBlocks(fields: HeaderFields, data: Uint8Array | string = ""): Buffer {
  const bytes = Buffer.from(data);
  return Buffer.concat([headerBlock({ size: bytes.length, ...fields }), padded(bytes)]);
}

/** The body of a PAX header: one `<length> <key>=<value>\n` record per pair. */
export function paxBody(records: Readonly<Record<string, string>>): Buffer {
  return Buffer.concat(Object.entries(records).map(([key, value]) => paxRecord(key, value)));
}

export function paxRecord(key: string, value: string): Buffer {
  const content = Buffer.byteLength(` ${key}=${value}\n`);
  let length = content + String(content).length;
  if (String(length).length !== String(content).length) length = content + String(length).length;
  return Buffer.from(`${length} ${key}=${value}\n`);
}

/** A number as a tar numeric field: octal, zero-padded and NUL-terminated. */
function numeric(value: number | string | Uint8Array, width: number): string | Uint8Array {
  if (typeof value !== "number") return value;
  return `${value.toString(8).padStart(width - 1, "0")}\u0000`;
}

function put(block: Buffer, offset: number, width: number, value: string | Uint8Array): void {
  const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : Buffer.from(value);
  bytes.copy(block, offset, 0, Math.min(width, bytes.length));
}
