import { describe, expect, it } from "vitest";
import { ImageReferenceError, parseImageReference } from "./reference.ts";

const digest = `sha256:${"a".repeat(64)}`;

describe("parseImageReference", () => {
  it.each([
    ["busybox", { registry: "docker.io", repository: "library/busybox", tag: "latest" }],
    ["localhost:5000/data/models:v1", { registry: "localhost:5000", repository: "data/models", tag: "v1" }],
    [`127.0.0.1:5000/seed@${digest}`, { registry: "127.0.0.1:5000", repository: "seed", digest }],
    [`example.com/a/b:1.0@${digest}`, { registry: "example.com", repository: "a/b", tag: "1.0", digest }],
    ["team/app:2", { registry: "docker.io", repository: "team/app", tag: "2" }],
  ])("reads %s", (input, expected) => {
    expect(parseImageReference(input)).toEqual(expected);
  });

  it.each([
    ["", /1 to 4096/],
    ["UPPER/case", /lower-case/],
    ["repo:bad tag", /tag/],
    ["repo@sha256:short", /digest/],
    ["a//b", /lower-case/],
  ])("refuses %j with a clear message", (input, message) => {
    expect(() => parseImageReference(input)).toThrow(ImageReferenceError);
    expect(() => parseImageReference(input)).toThrow(message);
  });
});
