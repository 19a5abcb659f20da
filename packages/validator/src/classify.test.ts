import { describe, expect, it } from "vitest";
import { classifyDataSourceRef, type DataSourceRef, type SourceKind } from "./classify.ts";

const hello: SourceKind = { group: "hello.example.com", kind: "Hello" };

describe("classifyDataSourceRef", () => {
  it.each<[string, DataSourceRef | undefined, string]>([
    ["a PVC without a data source", undefined, "empty"],
    ["a PVC clone (core group left out)", { kind: "PersistentVolumeClaim", name: "src" }, "pvc"],
    [
      "a PVC clone (core group spelled as empty)",
      { apiGroup: "", kind: "PersistentVolumeClaim", name: "src" },
      "pvc",
    ],
    ["a snapshot", { apiGroup: "snapshot.storage.k8s.io", kind: "VolumeSnapshot", name: "s" }, "snapshot"],
    ["a registered populator kind", { apiGroup: "hello.example.com", kind: "Hello", name: "h" }, "populator"],
    ["a kind nobody registers", { apiGroup: "nobody.example.com", kind: "Thing", name: "t" }, "invalid"],
    [
      "a registered kind under another group",
      { apiGroup: "other.example.com", kind: "Hello", name: "h" },
      "invalid",
    ],
    ["a core kind that is not a PVC", { kind: "ConfigMap", name: "c" }, "invalid"],
  ])("classifies %s", (_title, ref, expected) => {
    expect(classifyDataSourceRef(ref, [hello])).toBe(expected);
  });
});
