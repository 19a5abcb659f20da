import { describe, expect, it } from "vitest";
import { MalformedLayerError } from "./errors.ts";
import { type EntryHeader, type MetadataPolicy, ownershipOf, permissionBits, timesOf } from "./metadata.ts";
import { xattrAllowed, xattrsOf } from "./xattrs.ts";

function header(fields: Partial<EntryHeader>): EntryHeader {
  return {
    name: "x",
    size: 0,
    mode: 0o644,
    mtime: new Date(1_700_000_000_000),
    type: "file",
    linkname: null,
    uid: 0,
    gid: 0,
    uname: "",
    gname: "",
    devmajor: 0,
    devminor: 0,
    ...fields,
  };
}

const policy: MetadataPolicy = {
  owner: undefined,
  preserveOwnership: true,
  fileMode: undefined,
  dirMode: undefined,
  keepPrivileges: false,
};

describe("permissionBits", () => {
  it.each([
    [0o755, undefined, false, { mode: 0o755, setidDropped: false }],
    [0o4755, undefined, false, { mode: 0o755, setidDropped: true }],
    [0o2775, undefined, false, { mode: 0o775, setidDropped: true }],
    [0o1777, undefined, false, { mode: 0o1777, setidDropped: false }],
    [0o6755, undefined, true, { mode: 0o6755, setidDropped: false }],
    [0o100644, undefined, false, { mode: 0o644, setidDropped: false }],
    [0o4755, 0o4711, false, { mode: 0o4711, setidDropped: false }],
    [0o777, 0o640, false, { mode: 0o640, setidDropped: false }],
  ])("turns %s (forced %s, keepPrivileges %s) into %j", (mode, forced, keep, expected) => {
    expect(permissionBits(mode, forced, keep)).toEqual(expected);
  });
});

describe("ownershipOf", () => {
  it("takes the header's ids when preserving", () => {
    expect(ownershipOf(header({ uid: 1000, gid: 100 }), policy)).toEqual({ uid: 1000, gid: 100 });
  });

  it("prefers PAX ids, which may be larger than ustar can hold", () => {
    const pax = { uid: "3000000000", gid: "7" };
    expect(ownershipOf(header({ uid: 1, gid: 1, pax }), policy)).toEqual({ uid: 3_000_000_000, gid: 7 });
  });

  it("uses the forced owner over the header", () => {
    expect(ownershipOf(header({ uid: 5 }), { ...policy, owner: { uid: 1, gid: 2 } })).toEqual({
      uid: 1,
      gid: 2,
    });
  });

  it("leaves ownership alone when not preserving", () => {
    expect(ownershipOf(header({ uid: 5 }), { ...policy, preserveOwnership: false })).toBeUndefined();
  });

  it.each([-1, 2 ** 32 - 1, 1.5])("refuses the id %s", (uid) => {
    expect(() => ownershipOf(header({ uid }), policy)).toThrow(MalformedLayerError);
  });
});

describe("timesOf", () => {
  it("uses the header's mtime for both times", () => {
    expect(timesOf(header({}))).toEqual({ atime: 1_700_000_000, mtime: 1_700_000_000 });
  });

  it("prefers PAX times, with their fractions", () => {
    const pax = { mtime: "1600000000.25", atime: "1600000001.5" };
    expect(timesOf(header({ pax }))).toEqual({ atime: 1_600_000_001.5, mtime: 1_600_000_000.25 });
  });
});

describe("xattrsOf", () => {
  it("reads SCHILY and LIBARCHIVE records and nothing else", () => {
    const pax = {
      "SCHILY.xattr.user.comment": "hi",
      "LIBARCHIVE.xattr.user.with%20space": Buffer.from([0, 1, 2]).toString("base64"),
      path: "x",
    };
    expect(xattrsOf(header({ pax }))).toEqual([
      { name: "user.comment", value: Buffer.from("hi") },
      { name: "user.with space", value: Buffer.from([0, 1, 2]) },
    ]);
  });

  it("gives no value for a SCHILY record that lost bytes to UTF-8 decoding", () => {
    const pax = { "SCHILY.xattr.security.capability": "\u0001\uFFFD\u0000" };
    expect(xattrsOf(header({ pax }))).toEqual([{ name: "security.capability", value: undefined }]);
  });
});

describe("xattrAllowed", () => {
  it.each([
    ["user.mime_type", false, true],
    ["security.capability", false, false],
    ["security.capability", true, true],
    ["security.selinux", true, false],
    ["trusted.overlay.opaque", true, false],
    ["system.posix_acl_access", false, false],
  ])("%s with keepPrivileges %s: %s", (name, keep, allowed) => {
    expect(xattrAllowed(name, keep)).toBe(allowed);
  });
});
