import { describe, expect, it } from "vitest";
import { volumePopulator } from "./internal/fixtures.ts";
import { formatSourceKind, registrationOf, type VolumePopulator } from "./volume-populator.ts";

describe("registrationOf", () => {
  it("reads the name and the registered kind", () => {
    expect(registrationOf(volumePopulator("hello", "hello.example.com", "Hello"))).toEqual({
      name: "hello",
      sourceKind: { group: "hello.example.com", kind: "Hello" },
    });
  });

  it.each<[string, VolumePopulator]>([
    ["no sourceKind", { metadata: { name: "a" } }],
    ["no kind", { metadata: { name: "a" }, sourceKind: { group: "g" } }],
    ["an empty kind", { metadata: { name: "a" }, sourceKind: { group: "g", kind: "" } }],
  ])("ignores a VolumePopulator with %s", (_title, object) => {
    expect(registrationOf(object)).toBeUndefined();
  });

  it("reads a missing group as the core group", () => {
    expect(registrationOf({ metadata: { name: "a" }, sourceKind: { kind: "Thing" } })?.sourceKind).toEqual({
      group: "",
      kind: "Thing",
    });
  });
});

describe("formatSourceKind", () => {
  it("writes Kind.group as Go's GroupKind does, and the core group as the kind alone", () => {
    expect(formatSourceKind({ group: "hello.example.com", kind: "Hello" })).toBe("Hello.hello.example.com");
    expect(formatSourceKind({ group: "", kind: "PersistentVolumeClaim" })).toBe("PersistentVolumeClaim");
  });
});
