import { describe, expect, it } from "vitest";
import { Digester, digestOf, parseDigest } from "./digest.ts";
import { UnsupportedDigestError } from "./errors.ts";

describe("digests", () => {
  it("hashes incrementally to the same digest as all at once, in sha256 and sha512", () => {
    for (const algorithm of ["sha256", "sha512"] as const) {
      const digester = new Digester(algorithm);
      digester.update(Buffer.from("hello "));
      digester.update(Buffer.from("world"));
      expect(digester.digest()).toBe(digestOf(Buffer.from("hello world"), algorithm));
    }
    expect(digestOf(Buffer.from(""))).toBe(
      "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
  });

  it.each([
    "sha256:abc",
    "md5:d41d8cd98f00b204e9800998ecf8427e",
    `sha256:${"A".repeat(64)}`,
    "sha256",
    `:${"a".repeat(64)}`,
  ])("refuses %j", (digest) => {
    expect(() => parseDigest(digest)).toThrow(UnsupportedDigestError);
  });
});
