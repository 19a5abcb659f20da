import type { V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { pvc, ref, registration } from "./internal/fixtures.ts";
import { isWaiting, UNRECOGNIZED_MESSAGE, validatePvc } from "./validate.ts";

const registered = [registration("hello-populator", "hello.example.com", "Hello")];

describe("validatePvc", () => {
  it.each<[string, V1PersistentVolumeClaim, boolean, string, string | undefined, boolean]>([
    // title, PVC, already warned, result, event reason, warned after
    ["a PVC without a data source", pvc("a"), false, "empty", undefined, false],
    [
      "a PVC clone",
      pvc("a", { dataSourceRef: ref("", "PersistentVolumeClaim") }),
      false,
      "pvc",
      undefined,
      false,
    ],
    [
      "a snapshot source",
      pvc("a", { dataSourceRef: ref("snapshot.storage.k8s.io", "VolumeSnapshot") }),
      false,
      "snapshot",
      undefined,
      false,
    ],
    [
      "a registered kind",
      pvc("a", { dataSourceRef: ref("hello.example.com", "Hello") }),
      false,
      "populator",
      undefined,
      false,
    ],
    [
      "an unregistered kind, the first time",
      pvc("a", { dataSourceRef: ref("nobody.example.com", "Thing") }),
      false,
      "invalid",
      "UnrecognizedDataSourceKind",
      true,
    ],
    [
      "an unregistered kind already warned about",
      pvc("a", { dataSourceRef: ref("nobody.example.com", "Thing") }),
      true,
      "invalid",
      undefined,
      true,
    ],
    [
      "a bound PVC of an unregistered kind, the first time",
      pvc("a", { dataSourceRef: ref("nobody.example.com", "Thing"), bound: true }),
      false,
      "invalid",
      "UnrecognizedDataSourceKind",
      true,
    ],
    [
      "a waiting PVC whose kind was registered after the warning",
      pvc("a", { dataSourceRef: ref("hello.example.com", "Hello") }),
      true,
      "populator",
      "DataSourceKindRegistered",
      false,
    ],
    [
      "a bound PVC whose kind was registered after the warning",
      pvc("a", { dataSourceRef: ref("hello.example.com", "Hello"), bound: true }),
      true,
      "populator",
      undefined,
      false,
    ],
  ])("handles %s", (_title, claim, alreadyWarned, result, reason, warned) => {
    const decision = validatePvc(claim, registered, alreadyWarned);
    expect(decision.result).toBe(result);
    expect(decision.event?.reason).toBe(reason);
    expect(decision.warned).toBe(warned);
  });

  it("warns with upstream's message and says which kind is unknown", () => {
    const event = validatePvc(
      pvc("a", { dataSourceRef: ref("nobody.example.com", "Thing") }),
      registered,
      false,
    ).event;
    expect(event?.type).toBe("Warning");
    expect(event?.message).toBe(`${UNRECOGNIZED_MESSAGE} (apiGroup "nobody.example.com", kind "Thing")`);
    expect(
      event?.message.startsWith("The datasource for this PVC does not match any registered VolumePopulator"),
    ).toBe(true);
  });

  it("names the core group when an unknown core kind is used", () => {
    const event = validatePvc(pvc("a", { dataSourceRef: ref("", "ConfigMap") }), registered, false).event;
    expect(event?.message).toContain('(core apiGroup, kind "ConfigMap")');
  });

  it("names the VolumePopulator that registered the kind", () => {
    const event = validatePvc(
      pvc("a", { dataSourceRef: ref("hello.example.com", "Hello") }),
      registered,
      true,
    ).event;
    expect(event?.type).toBe("Normal");
    expect(event?.message).toBe(
      'VolumePopulator "hello-populator" now registers the datasource of this PVC (apiGroup "hello.example.com", kind "Hello")',
    );
  });
});

describe("isWaiting", () => {
  it("is true for a pending PVC and false once bound or being deleted", () => {
    expect(isWaiting(pvc("a"))).toBe(true);
    expect(isWaiting(pvc("a", { bound: true }))).toBe(false);
    expect(isWaiting(pvc("a", { deleting: true }))).toBe(false);
  });
});
