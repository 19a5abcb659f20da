import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { formatState, parseState, VolumeStore } from "./state.ts";
import type { VolumeRecord } from "./volume.ts";

const fsVolume: VolumeRecord = {
  id: "0b7c4f3e-2d1a-4c5b-9e8f-7a6b5c4d3e2f",
  capacity: 2 ** 30,
  kind: "filesystem",
};
const blockVolume: VolumeRecord = {
  id: "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a",
  capacity: 2 ** 20,
  kind: "block",
};

describe("parseState and formatState", () => {
  it("round-trip the name to record mapping", () => {
    const volumes = new Map([
      ["pvc-b", blockVolume],
      ["pvc-a", fsVolume],
    ]);
    expect(parseState(formatState(volumes))).toEqual(volumes);
  });

  it("write names in sorted order", () => {
    const text = formatState(
      new Map([
        ["pvc-b", blockVolume],
        ["pvc-a", fsVolume],
      ]),
    );
    expect(Object.keys(JSON.parse(text))).toEqual(["pvc-a", "pvc-b"]);
  });

  it.each([
    ["an array", "[]", /JSON object/],
    [
      "a record with a path as id",
      JSON.stringify({ v: { ...fsVolume, id: "../etc" } }),
      /"v" is not a volume record/,
    ],
    [
      "a record with an unknown kind",
      JSON.stringify({ v: { ...fsVolume, kind: "nfs" } }),
      /not a volume record/,
    ],
    [
      "a record without capacity",
      JSON.stringify({ v: { id: fsVolume.id, kind: "block" } }),
      /not a volume record/,
    ],
  ])("refuse %s", (_, text, message) => {
    expect(() => parseState(text)).toThrow(message);
  });
});

describe("VolumeStore", () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "csi-state-"));
    file = join(dir, "volumes.json");
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("starts empty when the state file does not exist", async () => {
    const store = await VolumeStore.open(file);
    expect(store.list()).toEqual([]);
  });

  it("persists puts and removes, and a fresh store reads them back", async () => {
    const store = await VolumeStore.open(file);
    await store.put("pvc-a", fsVolume);
    await store.put("pvc-b", blockVolume);
    await store.remove("pvc-a");
    const reopened = await VolumeStore.open(file);
    expect(reopened.list()).toEqual([{ name: "pvc-b", record: blockVolume }]);
    expect(JSON.parse(await readFile(file, "utf8"))).toEqual({ "pvc-b": blockVolume });
  });

  it("finds volumes by name and by id", async () => {
    const store = await VolumeStore.open(file);
    await store.put("pvc-a", fsVolume);
    expect(store.byName("pvc-a")).toEqual(fsVolume);
    expect(store.byId(fsVolume.id)).toEqual({ name: "pvc-a", record: fsVolume });
    expect(store.byId(blockVolume.id)).toBeUndefined();
  });

  it("leaves no temporary files behind", async () => {
    const store = await VolumeStore.open(file);
    await Promise.all([store.put("pvc-a", fsVolume), store.put("pvc-b", blockVolume)]);
    expect(await readdir(dir)).toEqual(["volumes.json"]);
    expect((await VolumeStore.open(file)).list()).toHaveLength(2);
  });

  it("keeps memory unchanged when the write fails", async () => {
    const store = await VolumeStore.open(join(dir, "missing-dir", "volumes.json"));
    await expect(store.put("pvc-a", fsVolume)).rejects.toThrow(/ENOENT/);
    expect(store.byName("pvc-a")).toBeUndefined();
  });

  it("refuses to start from a corrupt state file", async () => {
    await writeFile(file, "{not json");
    await expect(VolumeStore.open(file)).rejects.toThrow(/cannot read volume state/);
  });
});
