import { Readable } from "node:stream";
import {
  END_OF_ARCHIVE,
  entryBlocks,
  headerBlock,
  listEntries,
  READ_CASES,
  REFUSED_CASES,
} from "@volpop/oci-testing";
import { describe, expect, it } from "vitest";
import { readTarEntries } from "./tar-entries.ts";

const entriesOf = listEntries;

describe("readTarEntries", () => {
  describe("reads an archive as Go's archive/tar does", () => {
    it("stops at the end-of-archive marker: entries after two zero blocks are never read", async () => {
      const archive = Buffer.concat([
        entryBlocks({ name: "before" }, "kept"),
        END_OF_ARCHIVE,
        entryBlocks({ name: "after" }, "hidden from tar -t"),
        END_OF_ARCHIVE,
      ]);
      expect(await entriesOf(archive)).toEqual(['file before "kept"']);
    });

    it.each([
      ["symlink", "2"],
      ["link", "1"],
    ])("gives a %s no data whatever size it declares: the next header follows it", async (type, typeflag) => {
      const archive = Buffer.concat([
        headerBlock({ name: "l", typeflag, linkname: "target", size: 512 }),
        entryBlocks({ name: "next" }, "read"),
        END_OF_ARCHIVE,
      ]);
      expect(await entriesOf(archive)).toEqual([`${type} l -> target`, 'file next "read"']);
    });

    it("refuses a zero block followed by a header", async () => {
      const archive = Buffer.concat([Buffer.alloc(512), entryBlocks({ name: "a" }, "x"), END_OF_ARCHIVE]);
      await expect(entriesOf(archive)).rejects.toThrow(/malformed layer/);
    });
  });

  it.each(READ_CASES)("reads $name", async ({ blocks, entries }) => {
    expect(await entriesOf(Buffer.concat(blocks))).toEqual(entries);
  });

  it.each(REFUSED_CASES)("refuses $name", async ({ blocks, message }) => {
    await expect(entriesOf(Buffer.concat(blocks))).rejects.toThrow(message);
  });

  it("reads its input to the end, past the marker, and fails with the input's error", async () => {
    const input = Readable.from(
      (async function* () {
        yield Buffer.concat([entryBlocks({ name: "a" }, "x"), END_OF_ARCHIVE, Buffer.alloc(4096)]);
        await new Promise((resolve) => setTimeout(resolve, 20));
        throw new Error("digest mismatch");
      })(),
    );
    await expect(entriesOf(input)).rejects.toThrow("digest mismatch");
  });
});

describe("readTarEntries, stopped", () => {
  it("destroys its input when stopped before the first entry, as when the target check fails", async () => {
    const input = Readable.from([entryBlocks({ name: "a" }, "x")]);
    await readTarEntries(input).return();
    expect(input.destroyed).toBe(true);
  });

  it("counts every byte it consumes, past the end of the archive too", async () => {
    const counted: [number, string | undefined][] = [];
    const archive = Buffer.concat([entryBlocks({ name: "a" }, "xyz"), END_OF_ARCHIVE, Buffer.from("after")]);
    for await (const { body } of readTarEntries(Readable.from([archive]), {
      onBytes: (bytes, entry) => counted.push([bytes, entry]),
    })) {
      for await (const _chunk of body) {
        // read
      }
    }
    expect(counted.reduce((sum, [bytes]) => sum + bytes, 0)).toBe(archive.length);
    expect(counted.filter(([, entry]) => entry === "a").map(([bytes]) => bytes)).toEqual([3, 509]);
  });
});
