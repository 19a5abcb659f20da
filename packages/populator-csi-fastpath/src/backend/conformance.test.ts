import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createLogger } from "@volpop/sdk";
import { type ConformanceVolume, runConformance } from "@volpop/sdk/fastpath";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GOLDEN_SOURCE, sourceJson, sparseFile, temporaryDir, writeTree } from "../fixtures.ts";
import { runBackendDaemon } from "./daemon.ts";

/** The SDK's conformance suite (what `volpop fastpath conformance` runs) against the real daemon. */
describe("the hostpath backend under the fast-path conformance suite", () => {
  let dir: string;
  let socket: string;
  let stop: AbortController;
  let exited: Promise<number>;

  beforeEach(async () => {
    dir = temporaryDir();
    socket = path.join(dir, "run", "backend.sock");
    writeTree(path.join(dir, "golden"), {
      base: { dir: { "a.txt": "alpha", sub: { dir: { "b.txt": "beta" } } } },
    });
    fs.writeFileSync(path.join(dir, "golden", "base.img"), "IMAGE");
    writeTree(path.join(dir, "state"), { "vol-1": { dir: {} }, "vol-2": { dir: {} } });
    sparseFile(path.join(dir, "state", "blk-1.img"), 1024 * 1024);
    sparseFile(path.join(dir, "state", "blk-2.img"), 1024 * 1024);
    stop = new AbortController();
    let log = "";
    exited = runBackendDaemon(
      [
        `--endpoint=unix://${socket}`,
        `--state-dir=${path.join(dir, "state")}`,
        `--golden-dir=${path.join(dir, "golden")}`,
      ],
      {
        signal: stop.signal,
        logger: createLogger({
          name: "test",
          level: "info",
          destination: { write: (line) => (log += line) },
        }),
      },
    );
    for (let i = 0; i < 400 && !log.includes("fast-path backend serving"); i++) await sleep(10);
  });

  afterEach(async () => {
    stop.abort();
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const volume = (volumeMode: "Filesystem" | "Block", handle: string, other: string): ConformanceVolume => ({
    csiDriver: "hostpath.csi.k8s.io",
    volumeHandle: handle,
    otherVolumeHandle: other,
    capacityBytes: 1024 * 1024,
    volumeMode,
    sourceKind: GOLDEN_SOURCE,
    sourceJson: sourceJson("base"),
  });

  it.each([
    ["Filesystem", "vol-1", "vol-2"],
    ["Block", "blk-1", "blk-2"],
  ] as const)("passes every check with a %s volume", async (mode, handle, other) => {
    const results = await runConformance({
      endpoint: `unix://${socket}`,
      volume: volume(mode, handle, other),
      populateTimeoutMs: 20_000,
    });
    expect(results.filter((r) => r.outcome !== "passed")).toEqual([]);
    expect(results.length).toBeGreaterThan(10);
  });
});
