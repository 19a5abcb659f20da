import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { bundleFromPackageTree, debianCaBundle } from "./ca-bundle.ts";

const pem = (name: string) => `-----BEGIN CERTIFICATE-----\n${name}\n-----END CERTIFICATE-----`;

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "volpop-ca-test-"));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

function packageTree(files: Record<string, string>): void {
  const dir = path.join(root, "usr/share/ca-certificates/mozilla");
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
}

describe("bundleFromPackageTree", () => {
  it("concatenates the package's certificates in file-name order, each ending in a newline", () => {
    packageTree({ "b.crt": `${pem("B")}\n`, "a.crt": pem("A"), README: "not a certificate" });
    const bundle = bundleFromPackageTree(root);
    expect(bundle.count).toBe(2);
    expect(bundle.pem.toString()).toBe(`${pem("A")}\n${pem("B")}\n`);
  });

  it("refuses a package with no certificates", () => {
    packageTree({});
    expect(() => bundleFromPackageTree(root)).toThrow(/holds no certificates/);
  });

  it("refuses a .crt file that is not PEM", () => {
    packageTree({ "a.crt": pem("A"), "junk.crt": "\x00\x01binary" });
    expect(() => bundleFromPackageTree(root)).toThrow(/junk\.crt is not a PEM certificate/);
  });
});

describe("debianCaBundle", () => {
  it("refuses a cached package whose bytes are not the pinned ones", async () => {
    const cache = path.join(root, "cache");
    fs.mkdirSync(path.join(cache, "debs", "all"), { recursive: true });
    fs.writeFileSync(path.join(cache, "debs", "all", "ca-certificates_1.0_all.deb"), "not the package");
    const before = process.env.VOLPOP_CACHE;
    process.env.VOLPOP_CACHE = cache;
    try {
      await expect(debianCaBundle({ version: "1.0", sha256: "0".repeat(64) })).rejects.toThrow(
        /ca-certificates_1\.0_all\.deb has sha256 [0-9a-f]{64}, not the pinned 0{64}: refusing to build a CA bundle from it/,
      );
    } finally {
      if (before === undefined) delete process.env.VOLPOP_CACHE;
      else process.env.VOLPOP_CACHE = before;
    }
  });
});
