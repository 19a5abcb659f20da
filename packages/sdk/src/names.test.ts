import { describe, expect, it } from "vitest";
import {
  populatedFromAnnotation,
  populateProgressAnnotation,
  populatorPodName,
  primePvcName,
  targetProtectionFinalizer,
} from "./names.ts";

describe("object names", () => {
  const uid = "0f4e2a3c-9d1b-4c55-8f0e-2b7d6c1a9e31";

  it("names the prime PVC and the populator pod after the user's PVC uid, as upstream", () => {
    expect(primePvcName(uid)).toBe(`prime-${uid}`);
    expect(populatorPodName(uid)).toBe(`populate-${uid}`);
  });

  it("derives the finalizer and annotations from the populator prefix", () => {
    expect(targetProtectionFinalizer("hello.example.com")).toBe(
      "hello.example.com/populate-target-protection",
    );
    expect(populatedFromAnnotation("hello.example.com")).toBe("hello.example.com/populated-from");
    expect(populateProgressAnnotation("hello.example.com")).toBe("hello.example.com/populate-progress");
  });

  it.each(["", "Hello.Example.com", "hello/example", "-hello.com", "a".repeat(254)])(
    "rejects the prefix %j with a message naming it",
    (prefix) => {
      expect(() => targetProtectionFinalizer(prefix)).toThrow(/is not a DNS subdomain/);
    },
  );
});
