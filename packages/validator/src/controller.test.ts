import type { V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { createLogger } from "@volpop/sdk";
import { FakeInformer } from "@volpop/sdk/testing";
import { describe, expect, it } from "vitest";
import { volumePopulatorKeyMapper } from "./controller.ts";
import { pvc, ref, volumePopulator } from "./internal/fixtures.ts";
import type { VolumePopulator } from "./volume-populator.ts";

const logger = createLogger({ name: "test", level: "silent" });

/** PVCs of three kinds, and a mapper over them. */
function setup() {
  const pvcs = new FakeInformer<V1PersistentVolumeClaim>("PersistentVolumeClaim", { synced: true });
  pvcs.set(pvc("hello-1", { dataSourceRef: ref("hello.example.com", "Hello") }));
  pvcs.set(pvc("hello-2", { dataSourceRef: ref("hello.example.com", "Hello") }));
  pvcs.set(pvc("image-1", { dataSourceRef: ref("image.volpop.dev", "ImageSource") }));
  pvcs.set(pvc("plain"));
  return volumePopulatorKeyMapper(() => pvcs.list(), logger);
}

describe("volumePopulatorKeyMapper: which PVCs a VolumePopulator's change sends back to validation", () => {
  it("a new registration sends the PVCs of its kind, and only those", () => {
    const map = setup();
    expect(map(volumePopulator("hellos", "hello.example.com", "Hello"), "add").sort()).toEqual([
      "ns/hello-1",
      "ns/hello-2",
    ]);
  });

  it("a registration changed to another kind sends the PVCs of both kinds", () => {
    const map = setup();
    map(volumePopulator("shared", "hello.example.com", "Hello"), "add");
    expect(map(volumePopulator("shared", "image.volpop.dev", "ImageSource"), "update").sort()).toEqual([
      "ns/hello-1",
      "ns/hello-2",
      "ns/image-1",
    ]);
  });

  it("a deleted registration sends the PVCs of the kind it registered", () => {
    const map = setup();
    const hellos = volumePopulator("hellos", "hello.example.com", "Hello");
    map(hellos, "add");
    expect(map(hellos, "delete").sort()).toEqual(["ns/hello-1", "ns/hello-2"]);
    // Forgotten: deleting it again (a relist) names no kind.
    expect(map(hellos, "delete")).toEqual([]);
  });

  it("a registration without a kind sends the PVCs of the kind it used to register, and is ignored", () => {
    const map = setup();
    map(volumePopulator("hellos", "hello.example.com", "Hello"), "add");
    const broken = {
      ...volumePopulator("hellos", "hello.example.com", "Hello"),
      sourceKind: {},
    } as VolumePopulator;
    expect(map(broken, "update").sort()).toEqual(["ns/hello-1", "ns/hello-2"]);
    expect(map(broken, "update")).toEqual([]);
  });
});
