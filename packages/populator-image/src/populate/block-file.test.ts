import { UnsafeEntryError } from "@volpop/oci";
import { describe, expect, it } from "vitest";
import { blockFileComponents, blockFileEffect } from "./block-file.ts";

const wanted = blockFileComponents("images/disk.img");

describe("blockFileEffect", () => {
  it.each([
    ["images/disk.img", "file", { kind: "file" }],
    ["./images/disk.img", "contiguous-file", { kind: "file" }],
    ["/images//disk.img", "file", { kind: "file" }],
    ["images/disk.img", "symlink", { kind: "replaced", by: "a symlink" }],
    ["images/disk.img", "link", { kind: "replaced", by: "a hard link" }],
    ["images/disk.img/", "directory", { kind: "replaced", by: "a directory" }],
    ["images", "symlink", { kind: "replaced", by: "a symlink at images" }],
    ["images", "file", { kind: "replaced", by: "a regular file at images" }],
    ["images", "directory", { kind: "unrelated" }],
    ["images/.wh.disk.img", "file", { kind: "hides-lower" }],
    [".wh.images", "file", { kind: "hides-lower" }],
    ["images/.wh..wh..opq", "file", { kind: "hides-lower" }],
    [".wh..wh..opq", "file", { kind: "hides-lower" }],
    ["images/.wh.other.img", "file", { kind: "unrelated" }],
    ["images/disk.img/.wh..wh..opq", "file", { kind: "unrelated" }],
    ["images/.wh..wh.plnk/1", "file", { kind: "unrelated" }],
    ["images/disk.img.bak", "file", { kind: "unrelated" }],
    ["other/disk.img", "file", { kind: "unrelated" }],
  ] as const)("reads %j (%s) as %j", (name, type, effect) => {
    expect(blockFileEffect(name, type, wanted)).toEqual(effect);
  });

  it("refuses an entry that climbs out of the image, as extraction does", () => {
    expect(() => blockFileEffect("../disk.img", "file", wanted)).toThrow(UnsafeEntryError);
  });
});
