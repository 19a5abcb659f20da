/**
 * Hand-written archives and what Go's archive/tar makes of them: the entries it reads, or a
 * refusal. tar-entries.test.ts checks volpop's reader against these rows, and the differential
 * fuzzer checks the rows themselves against Go.
 */
import { Readable } from "node:stream";
import { readTarEntries } from "@volpop/oci";
import { entryBlocks, headerBlock, paxBody } from "./tar-blocks.ts";

/** What volpop's reader makes of `archive`: each entry as `type name[ -> link][ "data"]`. */
export async function listEntries(archive: Buffer | Readable): Promise<string[]> {
  const input = Buffer.isBuffer(archive) ? Readable.from([archive]) : archive;
  const seen: string[] = [];
  for await (const { header, body } of readTarEntries(input)) {
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk);
    const data = Buffer.concat(chunks).toString();
    const link = header.linkname ? ` -> ${header.linkname}` : "";
    seen.push(`${header.type} ${header.name}${link}${data ? ` ${JSON.stringify(data)}` : ""}`);
  }
  return seen;
}

export interface ReadCase {
  readonly name: string;
  readonly blocks: readonly Buffer[];
  /** Each entry as `type name[ -> link][ "data"]`. */
  readonly entries: readonly string[];
}

export interface RefusedCase {
  readonly name: string;
  readonly blocks: readonly Buffer[];
  /** volpop's refusal. */
  readonly message: RegExp;
  /** Go reads it, and volpop refuses it anyway (what Go reads that volpop does not write). */
  readonly goAccepts?: true;
}

const base256 = (value: number, width: number): Buffer => {
  const field = Buffer.alloc(width);
  field.writeUIntBE(value, width - 6, 6);
  field[0] = 0x80;
  return field;
};
const pax = (records: Record<string, string>, typeflag = "x"): Buffer =>
  entryBlocks({ name: "PaxHeaders/0", typeflag }, paxBody(records));
const longName = (typeflag: "L" | "K", value: string): Buffer =>
  entryBlocks({ name: "././@LongLink", typeflag, format: "gnu" }, `${value}\u0000`);

const readRows: [string, Buffer[], string[]][] = [
  ["a signed checksum", [entryBlocks({ name: "é", signedChecksum: true }, "x")], ['file é "x"']],
  [
    "a size in base-256",
    [headerBlock({ name: "f", size: base256(3, 12) }), Buffer.from("abc".padEnd(512, "\u0000"))],
    ['file f "abc"'],
  ],
  [
    "numbers padded with spaces and NULs",
    [entryBlocks({ name: "f", size: "     3 ", mode: "\u0000\u0000644" }, "abc")],
    ['file f "abc"'],
  ],
  [
    "the old regular-file typeflag on a name ending in /, its size ignored",
    [headerBlock({ name: "d/", typeflag: "\u0000", size: 512 }), entryBlocks({ name: "next" })],
    ["directory d/", "file next"],
  ],
  [
    "typeflag 0 on a name ending in /: still a file",
    [entryBlocks({ name: "f/", typeflag: "0" }, "x")],
    ['file f/ "x"'],
  ],
  ["a USTAR prefix", [entryBlocks({ name: "name", prefix: "pre/fix" }, "x")], ['file pre/fix/name "x"']],
  [
    "a GNU header's prefix field, which GNU does not have",
    [entryBlocks({ name: "name", prefix: "00000000000", format: "gnu" }, "x")],
    ['file name "x"'],
  ],
  [
    "a V7 header (no magic, no prefix)",
    [entryBlocks({ name: "v7", prefix: "ignored", format: "v7" }, "x")],
    ['file v7 "x"'],
  ],
  [
    "PAX path, linkpath and size",
    [
      pax({ path: "long/path", linkpath: "target", size: "+2" }),
      entryBlocks({ name: "short", typeflag: "2", size: 0 }),
      entryBlocks({ name: "f" }, "x"),
    ],
    ["symlink long/path -> target", 'file f "x"'],
  ],
  [
    "an empty PAX value, which keeps the header's",
    [pax({ path: "" }), entryBlocks({ name: "kept" }, "x")],
    ['file kept "x"'],
  ],
  [
    "PAX records apply to the next entry only",
    [pax({ path: "renamed" }), entryBlocks({ name: "a" }), entryBlocks({ name: "b" })],
    ["file renamed", "file b"],
  ],
  [
    "a global PAX header: an entry that renames nothing",
    [pax({ path: "global" }, "g"), entryBlocks({ name: "a" })],
    ["pax-global-header PaxHeaders/0", "file a"],
  ],
  [
    "GNU long names, cut at their NUL",
    [
      longName("L", "a/long/name"),
      longName("K", "a/long/target"),
      entryBlocks({ name: "x", typeflag: "1", linkname: "y" }),
    ],
    ["link a/long/name -> a/long/target"],
  ],
  [
    "GNU long names over PAX records",
    [pax({ path: "pax" }), longName("L", "gnu"), entryBlocks({ name: "x" })],
    ["file gnu"],
  ],
  [
    "a stream that ends after one zero block",
    [entryBlocks({ name: "a" }, "x"), Buffer.alloc(512)],
    ['file a "x"'],
  ],
  [
    "a stream that ends in the last entry's padding",
    [entryBlocks({ name: "a" }, "x").subarray(0, 600)],
    ['file a "x"'],
  ],
  ["a PAX header left dangling at the end", [pax({ path: "nothing" })], []],
];

const refusedRows: [string, Buffer[], RegExp, "go accepts"?][] = [
  ["a wrong checksum", [entryBlocks({ name: "a", checksum: 1 })], /checksum does not match/],
  [
    "a size that is not octal",
    [entryBlocks({ name: "a", size: "0000008\u0000" })],
    /number that does not parse/,
  ],
  ["a header cut short", [entryBlocks({ name: "a" }).subarray(0, 100)], /ends inside a header/],
  ["data cut short", [entryBlocks({ name: "a" }, "abc").subarray(0, 514)], /ends inside its data/],
  ["a zero block and then half of one", [Buffer.alloc(700)], /ends inside a header/],
  [
    "a malformed PAX record",
    [entryBlocks({ name: "P", typeflag: "x" }, "8 path=a\n"), entryBlocks({ name: "a" })],
    /PAX record/,
  ],
  [
    "a PAX size that is not a number",
    [pax({ size: "1e3" }), entryBlocks({ name: "a" })],
    /PAX size that is not a number/,
  ],
  [
    "a PAX time that is not a time",
    [pax({ mtime: "1.5.2" }), entryBlocks({ name: "a" })],
    /PAX mtime that is not a time/,
  ],
  [
    "a PAX path with a NUL",
    [entryBlocks({ name: "P", typeflag: "x" }, "12 path=a\u0000b\n"), entryBlocks({ name: "a" })],
    /NUL/,
  ],
  [
    "a GNU sparse file",
    [entryBlocks({ name: "s", typeflag: "S", format: "gnu" })],
    /GNU sparse file/,
    "go accepts",
  ],
  [
    "a PAX sparse file",
    [pax({ "GNU.sparse.major": "1", "GNU.sparse.minor": "0" }), entryBlocks({ name: "s" })],
    /GNU sparse file/,
  ],
  [
    "a name that is not UTF-8",
    [entryBlocks({ name: Buffer.from([0x61, 0xff]) })],
    /name is not valid UTF-8/,
    "go accepts",
  ],
];

export const READ_CASES: readonly ReadCase[] = readRows.map(([name, blocks, entries]) => ({
  name,
  blocks,
  entries,
}));

export const REFUSED_CASES: readonly RefusedCase[] = refusedRows.map(([name, blocks, message, go]) => ({
  name,
  blocks,
  message,
  ...(go === undefined ? {} : { goAccepts: true as const }),
}));
