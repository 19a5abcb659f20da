import { describe, expect, it } from "vitest";
import { formatPlatform, nodePlatform, normalisePlatform, parsePlatform, rankPlatforms } from "./platform.ts";

const p = (text: string) => parsePlatform(text);

describe("rankPlatforms", () => {
  const index = [
    p("linux/amd64"),
    p("linux/arm64"),
    p("linux/arm/v6"),
    p("linux/arm/v7"),
    p("windows/amd64"),
  ];

  it.each([
    ["linux/amd64", [0]],
    ["linux/arm64", [1]],
    ["linux/arm64/v8", [1]],
    ["linux/arm/v7", [3, 2]],
    ["linux/arm/v6", [2]],
    ["windows/amd64", [4]],
    ["linux/s390x", []],
  ])("ranks the candidates for %s", (wanted, expected) => {
    expect(rankPlatforms(p(wanted), index)).toEqual(expected);
  });

  it("treats x86_64 and aarch64 as amd64 and arm64", () => {
    expect(rankPlatforms(p("linux/amd64"), [{ os: "linux", architecture: "x86_64" }])).toEqual([0]);
    expect(
      rankPlatforms(p("linux/arm64"), [{ os: "linux", architecture: "aarch64", variant: "v8" }]),
    ).toEqual([0]);
  });

  it("skips entries without a platform, such as attestations", () => {
    expect(rankPlatforms(p("linux/amd64"), [undefined, p("linux/amd64")])).toEqual([1]);
  });

  it("prefers the exact amd64 level but never picks a higher one than the node runs", () => {
    const levels = [p("linux/amd64/v3"), p("linux/amd64"), p("linux/amd64/v2")];
    expect(rankPlatforms(p("linux/amd64/v2"), levels)).toEqual([2, 1]);
    expect(rankPlatforms(p("linux/amd64"), [p("linux/amd64/v3")])).toEqual([]);
  });
});

describe("platform names", () => {
  it("formats and parses os/arch/variant", () => {
    expect(formatPlatform(p("linux/arm/v7"))).toBe("linux/arm/v7");
    expect(formatPlatform(p("linux/arm64/v8"))).toBe("linux/arm64");
    expect(() => parsePlatform("linux")).toThrow(/os\/arch/);
    expect(() => parsePlatform("linux/arm/")).toThrow(/os\/arch/);
  });

  it("normalises distribution architecture names", () => {
    expect(normalisePlatform({ os: "Linux", architecture: "armhf" })).toEqual({
      os: "linux",
      architecture: "arm",
      variant: "v7",
    });
    expect(normalisePlatform({ os: "linux", architecture: "arm", variant: "7" })).toEqual({
      os: "linux",
      architecture: "arm",
      variant: "v7",
    });
  });

  it("describes this node in OCI names", () => {
    const platform = nodePlatform();
    expect(platform.os).toBe(process.platform === "win32" ? "windows" : process.platform);
    if (process.arch === "x64") expect(platform.architecture).toBe("amd64");
    if (process.arch === "arm64") expect(platform.architecture).toBe("arm64");
  });
});
