/**
 * fast-check arbitraries for layer blobs, honest and hostile, for the differential fuzzer
 * (src/layers/differential.test.ts): tar archives written block by block with odd headers (every
 * typeflag, sizes that lie, links that declare data, base-256 and space-padded numbers, signed and
 * wrong checksums, V7, GNU and star formats, PAX records good and bad, GNU long names, zero blocks
 * and whatever follows the end-of-archive marker), then compressed as gzip members or zstd frames,
 * one or several, with skippable frames, trailing zeros or garbage, truncation, a flipped byte,
 * and cut into chunks where the network might cut them.
 */
import zlib from "node:zlib";
import fc from "fast-check";
import {
  END_OF_ARCHIVE,
  entryBlocks,
  type HeaderFields,
  headerBlock,
  padded,
  paxRecord,
} from "./tar-blocks.ts";

export type LayerCompression = "gzip" | "zstd" | "none";

export interface GeneratedLayer {
  readonly compression: LayerCompression;
  /** The blob's bytes, in the chunks the blob stream will deliver them in. */
  readonly chunks: readonly Buffer[];
  /** Written as honest tools write layers: any reader must accept it. */
  readonly honest: boolean;
  /** How it was made, for a failure's report. */
  readonly recipe: string;
}

export interface LayerOptions {
  /** Generate zstd layers (the reference needs the zstd tool to read them). */
  readonly zstd: boolean;
}

const bytesOf = (text: string): Buffer => Buffer.from(text, "utf8");

// Names likely to collide, nest, escape, whiteout or confuse: some valid, some not.
const name: fc.Arbitrary<string | Buffer> = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom("a", "b", "c", "a/b", "a/c", "d/", "d/e", "./f", "d/./g") },
  {
    weight: 3,
    arbitrary: fc.constantFrom("/abs", "../x", "a/../b", "..", "", ".", "/", "a//b", "dir/sub/", "é", "ü/ä"),
  },
  { weight: 2, arbitrary: fc.constantFrom(".wh.a", "d/.wh..wh..opq", ".wh..wh.aufs", "d/.wh.e") },
  { weight: 1, arbitrary: fc.constantFrom(`${"n".repeat(99)}/long`, "x".repeat(100), "y".repeat(150)) },
  { weight: 1, arbitrary: fc.constantFrom(Buffer.from([0xff, 0x61]), Buffer.from("a\u0000b")) },
);
const linkname: fc.Arbitrary<string | Buffer> = fc.constantFrom(
  "a",
  "b",
  "a/b",
  "d",
  "../..",
  "/etc",
  "",
  "d/e",
);

// Typeflags Go knows, and some it hands over as they are.
const typeflag = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom("0", "\u0000", "5") },
  { weight: 4, arbitrary: fc.constantFrom("1", "2") },
  { weight: 2, arbitrary: fc.constantFrom("7", "3", "4", "6") },
  { weight: 1, arbitrary: fc.constantFrom("S", "Z", "V", "D", "x", "g", "L", "K") },
);

const content = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("", "x", "hello\n", "z".repeat(512), "w".repeat(513)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 700 }).map((data) => Buffer.from(data)) },
);

/**
 * A numeric field holding `value`: the usual way, or in the other ways Go reads (spaces, leading
 * NULs, base-256), or now and then a way it does not.
 */
function numeric(width: number, value: number, broken: boolean): fc.Arbitrary<number | string | Uint8Array> {
  const octal = value.toString(8);
  const base256 = Buffer.alloc(width);
  base256.writeUIntBE(value, width - 6, 6);
  base256[0] = 0x80;
  return fc.oneof(
    { weight: 20, arbitrary: fc.constant(value) },
    { weight: 2, arbitrary: fc.constant(`${" ".repeat(Math.max(0, width - octal.length - 1))}${octal} `) },
    { weight: 2, arbitrary: fc.constant(`\u0000\u0000${octal}`.slice(0, width)) },
    { weight: 2, arbitrary: fc.constant(base256) },
    { weight: broken ? 2 : 0, arbitrary: fc.constantFrom("0000008\u0000", "-1", "12 34\u0000", "+7") },
  );
}

// PAX records Go reads, with values good and bad; `size` is filled in to match the data.
const paxExtra = fc.oneof(
  fc.tuple(
    fc.constant("path"),
    fc.constantFrom("a", "b/c", "d/", "", "é", "../up", "p".repeat(120), "a\u0000b"),
  ),
  fc.tuple(fc.constant("linkpath"), fc.constantFrom("a", "b", "", "../..", "l".repeat(120))),
  fc.tuple(fc.constantFrom("mtime", "atime"), fc.constantFrom("1", "1.5", "-1.25", "+3", "1.", "x", "")),
  fc.tuple(
    fc.constantFrom("uid", "gid"),
    fc.constantFrom("0", "+1", "-1", "1000", "x", "99999999999999999999"),
  ),
  fc.tuple(
    fc.constantFrom("SCHILY.xattr.user.k", "comment", "uname", "GNU.sparse.major"),
    fc.constantFrom("v", ""),
  ),
);
const paxSize = fc.constantFrom("exact", "exact", "+exact", "0", "x", "-1", "none");
const malformedRecord = fc.constantFrom(
  "5 a=b\n",
  "3 a=\n",
  "12 path=abc",
  "x path=a\n",
  "9 noequal\n",
  "7 =v\n",
);

interface EntrySpec {
  readonly blocks: Buffer;
  readonly recipe: string;
}

/**
 * One entry, perhaps after a PAX header and GNU long names: odd but valid as Go reads it, or, when
 * `broken`, now and then not (a size that lies, a bad checksum or number, a malformed PAX record).
 */
const entryOf = (broken: boolean): fc.Arbitrary<EntrySpec> =>
  fc
    .record({
      name,
      typeflag,
      data: content,
      // Types without data may still declare a size: Go ignores it, and the next header follows.
      headerOnlySize: fc.constantFrom(0, 0, 1, 512, 1000),
      headerOnlyData: fc.constantFrom(false, false, false, false, true),
      lie: broken ? fc.option(fc.constantFrom(-1, 1, 511, 512, -512), { freq: 6 }) : fc.constant(null),
      linkname: fc.option(linkname, { freq: 6, nil: undefined }),
      mode: fc.constantFrom(0o644, 0o755, 0o4755, 0o1777, 0o100644),
      format: fc.constantFrom<NonNullable<HeaderFields["format"]>>(
        "ustar",
        "ustar",
        "ustar",
        "gnu",
        "v7",
        "star",
      ),
      prefix: fc.option(fc.constantFrom("pre", "d", "é", "p/q"), { freq: 8, nil: undefined }),
      checksum: broken
        ? fc.constantFrom("ok", "ok", "ok", "signed", "wrong")
        : fc.constantFrom("ok", "ok", "signed"),
      pax: fc.option(
        fc.record({
          global: fc.constantFrom(false, false, false, true),
          size: broken ? paxSize : fc.constantFrom("exact", "+exact", "none"),
          extra: fc.array(paxExtra, { maxLength: 3 }),
          malformed: broken
            ? fc.option(malformedRecord, { freq: 4, nil: undefined })
            : fc.constant(undefined),
        }),
        { freq: 3, nil: undefined },
      ),
      longName: fc.option(fc.constantFrom("long/name", "g".repeat(200), "", "a\u0000junk", "d/"), {
        freq: 8,
        nil: undefined,
      }),
      longLink: fc.option(fc.constantFrom("long/target", "t".repeat(200), ""), { freq: 12, nil: undefined }),
    })
    .chain((spec) => {
      const headerOnly = "123456".includes(spec.typeflag);
      const data = headerOnly && !spec.headerOnlyData ? Buffer.alloc(0) : Buffer.from(spec.data);
      const declared = headerOnly ? spec.headerOnlySize : Math.max(0, data.length + (spec.lie ?? 0));
      return fc
        .record({
          size: numeric(12, declared, broken),
          mode: numeric(8, spec.mode, broken),
          uid: numeric(8, 0, broken),
          mtime: numeric(12, 1, broken),
        })
        .map((numbers): EntrySpec => {
          const parts: Buffer[] = [];
          if (spec.pax !== undefined) {
            const records = spec.pax.extra.map(([key, value]) => paxRecord(key, value));
            const size = spec.pax.size;
            if (size === "exact" || size === "+exact") {
              records.push(paxRecord("size", `${size === "exact" ? "" : "+"}${data.length}`));
            } else if (size !== "none") records.push(paxRecord("size", size));
            if (spec.pax.malformed !== undefined) records.push(Buffer.from(spec.pax.malformed));
            parts.push(
              entryBlocks(
                { name: "PaxHeaders/e", typeflag: spec.pax.global ? "g" : "x" },
                Buffer.concat(records),
              ),
            );
          }
          if (spec.longName !== undefined) {
            parts.push(
              entryBlocks({ name: "././@LongLink", typeflag: "L", format: "gnu" }, `${spec.longName}\u0000`),
            );
          }
          if (spec.longLink !== undefined) {
            parts.push(
              entryBlocks({ name: "././@LongLink", typeflag: "K", format: "gnu" }, `${spec.longLink}\u0000`),
            );
          }
          const fields: HeaderFields = {
            name: spec.name,
            typeflag: spec.typeflag,
            ...numbers,
            format: spec.format,
            ...(spec.linkname === undefined ? {} : { linkname: spec.linkname }),
            ...(spec.prefix === undefined ? {} : { prefix: spec.prefix }),
            ...(spec.checksum === "signed" ? { signedChecksum: true } : {}),
            ...(spec.checksum === "wrong" ? { checksum: 0o1234 } : {}),
          };
          parts.push(headerBlock(fields), padded(data));
          const flag = JSON.stringify(spec.typeflag);
          return {
            blocks: Buffer.concat(parts),
            recipe: `${flag}${spec.pax ? "+pax" : ""}${spec.longName !== undefined ? "+L" : ""}${spec.longLink !== undefined ? "+K" : ""}`,
          };
        });
    });

const block = fc.oneof(
  { weight: 3, arbitrary: fc.constant(Buffer.alloc(512)) },
  {
    weight: 1,
    arbitrary: fc.uint8Array({ minLength: 512, maxLength: 512 }).map((data) => Buffer.from(data)),
  },
);

const partOf = (broken: boolean): fc.Arbitrary<EntrySpec> =>
  fc.oneof(
    { weight: 20, arbitrary: entryOf(broken) },
    { weight: broken ? 2 : 0, arbitrary: block.map((blocks) => ({ blocks, recipe: "block" })) },
  );

const ending = fc.constantFrom(
  "marker",
  "marker",
  "marker",
  "none",
  "one zero block",
  "marker, zeros",
  "marker, garbage",
  "marker, entry",
);

/** A tar archive written block by block, often hostile; honest only by accident. */
const hostileTar: fc.Arbitrary<{ tar: Buffer; recipe: string }> = fc
  .constantFrom(false, false, true)
  .chain((broken) =>
    fc.record({
      parts: fc.array(partOf(broken), { maxLength: 6 }),
      ending,
      cut: broken ? fc.option(fc.nat(), { freq: 4 }) : fc.constant(null),
      flips: broken
        ? fc.option(
            fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 2 }),
            {
              freq: 4,
              nil: [],
            },
          )
        : fc.constant<[number, number][]>([]),
    }),
  )
  .map(({ parts, ending, cut, flips }) => {
    const tail: Record<string, Buffer> = {
      marker: END_OF_ARCHIVE,
      none: Buffer.alloc(0),
      "one zero block": Buffer.alloc(512),
      "marker, zeros": Buffer.concat([END_OF_ARCHIVE, Buffer.alloc(1536)]),
      "marker, garbage": Buffer.concat([END_OF_ARCHIVE, Buffer.from("garbage after the archive")]),
      "marker, entry": Buffer.concat([END_OF_ARCHIVE, entryBlocks({ name: "hidden" }, "after the marker")]),
    };
    let tar = Buffer.concat([...parts.map((p) => p.blocks), tail[ending] ?? Buffer.alloc(0)]);
    if (cut !== null && tar.length > 0) tar = tar.subarray(0, cut % (tar.length + 1));
    for (const [offset, xor] of flips) {
      if (tar.length > 0) tar[offset % tar.length] = (tar[offset % tar.length] ?? 0) ^ xor;
    }
    const damage = `${cut === null ? "" : `, cut at ${cut}`}${flips.length > 0 ? `, ${flips.length} bytes flipped` : ""}`;
    return { tar, recipe: `tar [${parts.map((p) => p.recipe).join(" ")}], ${ending}${damage}` };
  });

// An honest layer: names, links and sizes as image builders write them, long names in PAX records.
const honestName = fc.constantFrom("a", "b", "dir/x", "dir/y", "dir/sub/z", `${"long".repeat(30)}/file`, "ü");
const honestEntry = fc.oneof(
  fc.record({
    typeflag: fc.constant("0"),
    name: honestName,
    data: fc.constantFrom("", "x", "y".repeat(700)),
  }),
  fc.record({
    typeflag: fc.constant("5"),
    name: fc.constantFrom("dir/", "dir/sub/", "other/"),
    data: fc.constant(""),
  }),
  fc.record({
    typeflag: fc.constant("2"),
    name: fc.constantFrom("l", "dir/l"),
    data: fc.constant(""),
    link: linkname,
  }),
);
const honestTar: fc.Arbitrary<{ tar: Buffer; recipe: string }> = fc
  .array(honestEntry, { maxLength: 6 })
  .map((entries) => ({
    tar: Buffer.concat([
      ...entries.map((entry) => {
        const long = Buffer.byteLength(entry.name) > 100;
        const fields: HeaderFields = {
          name: long ? "PaxHeaders/long" : entry.name,
          typeflag: entry.typeflag,
          mode: entry.typeflag === "0" ? 0o644 : 0o755,
          ...("link" in entry ? { linkname: entry.link } : {}),
        };
        const pax = long
          ? entryBlocks({ name: "PaxHeaders/x", typeflag: "x" }, paxRecord("path", entry.name))
          : Buffer.alloc(0);
        return Buffer.concat([pax, entryBlocks(fields, entry.data)]);
      }),
      END_OF_ARCHIVE,
    ]),
    recipe: `honest tar of ${entries.length} entries`,
  }));

interface Framing {
  readonly pieces: number;
  readonly skippable: readonly boolean[];
  readonly checksum: boolean;
  readonly gzipName: boolean;
  readonly trailer: "none" | "zeros" | "garbage" | "empty member";
  readonly damage: "none" | "truncate" | "flip";
  readonly at: number;
}

const framing: fc.Arbitrary<Framing> = fc.record({
  pieces: fc.integer({ min: 1, max: 3 }),
  skippable: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
  checksum: fc.boolean(),
  gzipName: fc.boolean(),
  trailer: fc.constantFrom<Framing["trailer"]>(
    ...Array<Framing["trailer"]>(8).fill("none"),
    "zeros",
    "garbage",
    "empty member",
  ),
  damage: fc.constantFrom<Framing["damage"]>(
    ...Array<Framing["damage"]>(10).fill("none"),
    "truncate",
    "flip",
  ),
  at: fc.nat(),
});

/** `tar` compressed as `framing` says; honest when nothing was added or damaged. */
export function compress(
  tar: Buffer,
  compression: LayerCompression,
  framing: Framing,
): { blob: Buffer; honest: boolean; recipe: string } {
  if (compression === "none") {
    return { blob: tar, honest: true, recipe: "uncompressed" };
  }
  const step = Math.max(1, Math.ceil(tar.length / framing.pieces));
  const pieces: Buffer[] = [];
  for (let start = 0, index = 0; start < tar.length || index === 0; start += step, index++) {
    const piece = tar.subarray(start, start + step);
    if (compression === "gzip") pieces.push(gzipMember(piece, framing.gzipName));
    else {
      if (framing.skippable[index % 4]) pieces.push(skippableFrame(index));
      pieces.push(
        zlib.zstdCompressSync(piece, {
          params: { [zlib.constants.ZSTD_c_checksumFlag]: framing.checksum ? 1 : 0 },
        }),
      );
    }
  }
  let honest = true;
  switch (framing.trailer) {
    case "zeros":
      pieces.push(Buffer.alloc(1 + (framing.at % 1024)));
      honest = false;
      break;
    case "garbage":
      pieces.push(Buffer.from("trailing garbage"));
      honest = false;
      break;
    case "empty member":
      pieces.push(
        compression === "gzip" ? gzipMember(Buffer.alloc(0), false) : zlib.zstdCompressSync(Buffer.alloc(0)),
      );
      break;
  }
  let blob = Buffer.concat(pieces);
  if (framing.damage === "truncate" && blob.length > 0) {
    blob = blob.subarray(0, framing.at % blob.length);
    honest = false;
  } else if (framing.damage === "flip" && blob.length > 0) {
    blob[framing.at % blob.length] = (blob[framing.at % blob.length] ?? 0) ^ 0x10;
    honest = false;
  }
  const recipe = `${compression} in ${pieces.length} pieces${framing.trailer === "none" ? "" : `, ${framing.trailer} after`}${framing.damage === "none" ? "" : `, ${framing.damage} at ${framing.at}`}`;
  return { blob, honest, recipe };
}

/** A gzip member, written by hand so that it may carry a file name (FNAME), as gzip(1) writes. */
function gzipMember(data: Buffer, withName: boolean): Buffer {
  const header = Buffer.from([0x1f, 0x8b, 8, withName ? 0x08 : 0, 0, 0, 0, 0, 0, 3]);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(zlib.crc32(data), 0);
  trailer.writeUInt32LE(data.length >>> 0, 4);
  return Buffer.concat([
    header,
    withName ? bytesOf("layer.tar\u0000") : Buffer.alloc(0),
    zlib.deflateRawSync(data),
    trailer,
  ]);
}

function skippableFrame(index: number): Buffer {
  const payload = Buffer.from(`skippable ${index}`);
  const header = Buffer.alloc(8);
  header.writeUInt32LE(0x184d2a50 + (index % 16), 0);
  header.writeUInt32LE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

/** `blob` cut at `cuts` (taken modulo its length), as the network may deliver it. */
export function chunked(blob: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((cut) => (blob.length === 0 ? 0 : cut % blob.length)))]
    .filter((point) => point > 0)
    .sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of points) {
    chunks.push(blob.subarray(start, point));
    start = point;
  }
  if (start < blob.length || chunks.length === 0) chunks.push(blob.subarray(start));
  return chunks.filter((chunk) => chunk.length > 0);
}

/** A layer blob, honest or hostile, compressed and chunked. */
export function layerBlob(options: LayerOptions): fc.Arbitrary<GeneratedLayer> {
  const compressions: LayerCompression[] = options.zstd ? ["gzip", "zstd", "none"] : ["gzip", "none"];
  return fc
    .record({
      honestTar: fc.boolean(),
      hostile: hostileTar,
      honest: honestTar,
      compression: fc.constantFrom(...compressions),
      framing,
      cuts: fc.array(fc.nat(), { maxLength: 5 }),
    })
    .map(({ honestTar: useHonest, hostile, honest, compression, framing, cuts }) => {
      const tar = useHonest ? honest : hostile;
      const compressed = compress(tar.tar, compression, framing);
      return {
        compression,
        chunks: chunked(compressed.blob, cuts),
        honest: useHonest && compressed.honest,
        recipe: `${tar.recipe}; ${compressed.recipe}; ${cuts.length + 1} chunks at most`,
      };
    });
}
