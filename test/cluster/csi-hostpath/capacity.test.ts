import { describe, expect, it } from "vitest";
import { chooseCapacity, DEFAULT_CAPACITY, MiB, parseCapacityRange, satisfiesRange } from "./capacity.ts";

const GiB = 2 ** 30;
const max = 10 * GiB;

describe("parseCapacityRange", () => {
  it("treats a missing range as no requirement", () => {
    expect(parseCapacityRange(null)).toEqual({ required: 0, limit: 0 });
  });

  it("reads int64 strings", () => {
    expect(parseCapacityRange({ required_bytes: "1048576", limit_bytes: "2097152" })).toEqual({
      required: MiB,
      limit: 2 * MiB,
    });
  });

  it.each([
    [{ required_bytes: "-1", limit_bytes: "0" }, /non-negative/],
    [{ required_bytes: "2", limit_bytes: "1" }, /exceeds limit_bytes/],
    [{ required_bytes: "abc", limit_bytes: "0" }, /non-negative/],
  ])("rejects %j", (range, message) => {
    expect(() => parseCapacityRange(range)).toThrow(message);
  });
});

describe("chooseCapacity", () => {
  it.each([
    ["defaults to 1 GiB when nothing is required", { required: 0, limit: 0 }, DEFAULT_CAPACITY],
    ["rounds required bytes up to a whole MiB", { required: 1, limit: 0 }, MiB],
    ["keeps a whole MiB as it is", { required: 5 * MiB, limit: 0 }, 5 * MiB],
    ["rounds up within the limit", { required: MiB + 1, limit: 3 * MiB }, 2 * MiB],
    ["caps the default at the limit, rounded down", { required: 0, limit: 100 * MiB + 5 }, 100 * MiB],
    ["allows exactly the maximum", { required: max, limit: 0 }, max],
  ])("%s", (_, request, expected) => {
    expect(chooseCapacity(request, max)).toBe(expected);
  });

  it.each([
    ["the maximum volume size is exceeded", { required: max + 1, limit: 0 }],
    ["rounding up passes the limit", { required: MiB + 1, limit: MiB + 2 }],
    ["the limit is below one MiB", { required: 0, limit: 1000 }],
  ])("answers OUT_OF_RANGE when %s", (_, request) => {
    expect(() => chooseCapacity(request, max)).toThrow(expect.objectContaining({ code: "OUT_OF_RANGE" }));
  });
});

describe("satisfiesRange", () => {
  it.each([
    [GiB, { required: 0, limit: 0 }, true],
    [GiB, { required: GiB, limit: 0 }, true],
    [GiB, { required: GiB + 1, limit: 0 }, false],
    [GiB, { required: 0, limit: GiB - 1 }, false],
    [GiB, { required: MiB, limit: 2 * GiB }, true],
  ])("%d bytes fits %j: %s", (capacity, request, expected) => {
    expect(satisfiesRange(capacity, request)).toBe(expected);
  });
});
