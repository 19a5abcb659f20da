import fs from "node:fs";
import path from "node:path";
import { type PopulateTarget, type Progress, readSpec, SPEC_ENV } from "@volpop/sdk";
import { badInputCase, contained } from "@volpop/test-catalogue";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MARKER_NAME } from "./copy/marker.ts";
import { readTree, sparseFile, temporaryDir, writeTree } from "./fixtures.ts";
import { checkGoldenContentSpec } from "./golden-content.ts";
import { populateGoldenContent } from "./populate.ts";

describe("populateGoldenContent", () => {
  let dir: string;
  let golden: string;
  let mnt: string;
  let progress: Progress[];
  beforeEach(() => {
    dir = temporaryDir();
    golden = path.join(dir, "golden");
    mnt = path.join(dir, "mnt");
    writeTree(golden, { base: { dir: { "a.txt": "alpha", d: { dir: { l: { link: "../a.txt" } } } } } });
    fs.mkdirSync(mnt);
    progress = [];
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  // The spec as populate mode gets it: from the pod's env, checked again.
  const context = (
    spec: { content?: string | undefined },
    target: PopulateTarget = { kind: "directory", path: mnt },
  ) => ({
    target,
    spec: readSpec(checkGoldenContentSpec, { [SPEC_ENV]: JSON.stringify(spec) }),
    extra: { "golden-dir": golden, "operation-id": "pvc-uid" },
    reportProgress: (p: Progress) => progress.push(p),
  });

  it("copies the golden tree into the mounted volume exactly as the backend does, reporting progress", async () => {
    await populateGoldenContent(context({ content: "base" }));
    expect(readTree(mnt)).toEqual(readTree(path.join(golden, "base")));
    expect(progress[0]).toMatchObject({ bytesDone: 0, bytesTotal: 5, percent: 0 });
    expect(progress.at(-1)).toEqual({ percent: 100, message: "copied golden content base" });
  });

  it("finishes a volume the backend started for the same PVC (same operation id in the marker)", async () => {
    writeTree(mnt, { [MARKER_NAME]: "pvc-uid\n", "a.txt": "al" });
    await populateGoldenContent(context({ content: "base" }));
    expect(readTree(mnt)).toEqual(readTree(path.join(golden, "base")));
  });

  it("writes the golden image over the start of a block device", async () => {
    fs.writeFileSync(path.join(golden, "base.img"), "MBR!");
    const device = path.join(dir, "device");
    sparseFile(device, 64 * 1024);
    await populateGoldenContent(context({ content: "base" }, { kind: "device", path: device }));
    expect(fs.readFileSync(device).subarray(0, 5).toString()).toBe("MBR!\0");
    expect(fs.statSync(device).size).toBe(64 * 1024);
  });

  it("puts the failure reason first in the termination message", async () => {
    await expect(populateGoldenContent(context({ content: "missing" }))).rejects.toThrow(
      'GoldenContentNotFound: there is no golden content tree "missing" on this node',
    );
  });

  badInputCase.each([undefined, "../etc", "a/b"])(
    {
      id: "fastpath-hostile-content-name",
      component: "fastpath",
      input: "a GoldenContent spec in populate mode whose content is missing or a path (../etc, a/b)",
      expected: "refusing to populate: spec.content …",
      checks: ["volume-left-empty", "nothing-outside-volume"],
    },
    async (content) => {
      await expect(async () => populateGoldenContent(context({ content }))).rejects.toThrow(
        /refusing to populate: spec.content/,
      );
      contained("volume-left-empty", () => expect(fs.readdirSync(mnt)).toEqual([]));
      contained("nothing-outside-volume", () =>
        expect(fs.readdirSync(dir).sort()).toEqual(["golden", "mnt"]),
      );
    },
  );
});
