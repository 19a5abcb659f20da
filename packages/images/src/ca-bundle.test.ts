import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { bundleFromPackageTree } from "./ca-bundle.ts";

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
