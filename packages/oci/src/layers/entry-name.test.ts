import { describe, expect, it } from "vitest";
import { entryComponents, placeUnder } from "./entry-name.ts";
import { UnsafeEntryError } from "./errors.ts";
import { whiteoutMarker, whiteoutMarkerOf } from "./whiteout.ts";

describe("entryComponents", () => {
  it.each([
    ["usr/bin/sh", ["usr", "bin", "sh"]],
    ["./usr/bin/", ["usr", "bin"]],
    ["/etc/passwd", ["etc", "passwd"]],
    ["//etc//./passwd", ["etc", "passwd"]],
    ["a/b/../c", ["a", "c"]],
    ["a/..", []],
    [".", []],
    ["/", []],
    ["...", ["..."]],
    ["..a/b..", ["..a", "b.."]],
  ])("reads %j as %j", (name, components) => {
    expect(entryComponents(name)).toEqual(components);
  });

  it.each(["..", "../x", "a/../../x", "/../x", "./a/./../../x"])(
    "refuses %j, which escapes the volume",
    (name) => {
      expect(() => entryComponents(name)).toThrow(UnsafeEntryError);
      expect(() => entryComponents(name)).toThrow(
        `layer entry ${JSON.stringify(name)} rejected: escapes the volume`,
      );
    },
  );

  it("refuses a name with a NUL byte", () => {
    expect(() => entryComponents("a\0b")).toThrow(/NUL byte/);
  });

  it("names the entry it was asked about in its error", () => {
    expect(() => entryComponents("../x", "link")).toThrow(expect.objectContaining({ entry: "link" }));
  });
});

describe("placeUnder", () => {
  it.each([
    [["a", "b"], [], { kind: "inside", relative: ["a", "b"] }],
    [["data", "x"], ["data"], { kind: "inside", relative: ["x"] }],
    [["data"], ["data"], { kind: "inside", relative: [] }],
    [["srv"], ["srv", "data"], { kind: "above" }],
    [[], ["data"], { kind: "above" }],
    [["database"], ["data"], { kind: "outside" }],
    [["etc", "data"], ["data"], { kind: "outside" }],
  ])("places %j under subPath %j as %j", (components, subPath, placement) => {
    expect(placeUnder(components, subPath)).toEqual(placement);
  });
});

describe("whiteoutMarker", () => {
  it.each([
    ["file", undefined],
    [".wh.file", { kind: "whiteout", name: "file" }],
    [".wh..hidden", { kind: "whiteout", name: ".hidden" }],
    [".wh..wh..opq", { kind: "opaque" }],
    [".wh..wh.plnk", { kind: "aufs-metadata" }],
    ["x.wh.file", undefined],
  ])("reads %j as %j", (name, marker) => {
    expect(whiteoutMarker(name)).toEqual(marker);
  });
});

describe("whiteoutMarkerOf", () => {
  it("treats anything below an AUFS metadata directory as metadata", () => {
    expect(whiteoutMarkerOf([".wh..wh.plnk", "1234.56"])).toEqual({ kind: "aufs-metadata" });
    expect(whiteoutMarkerOf(["a", ".wh..wh.orph", "x"])).toEqual({ kind: "aufs-metadata" });
  });

  it("reads the last component otherwise", () => {
    expect(whiteoutMarkerOf(["d", ".wh..wh..opq"])).toEqual({ kind: "opaque" });
    expect(whiteoutMarkerOf(["d", "f"])).toBeUndefined();
    expect(whiteoutMarkerOf([])).toBeUndefined();
  });
});
