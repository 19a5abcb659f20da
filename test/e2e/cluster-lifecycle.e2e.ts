import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, inject, it } from "vitest";
import { clusterDir, layout, network, runDir } from "../cluster/config.ts";
import { loopDevicesUnder, mountsUnder } from "../cluster/mounts.ts";
import { linkExists } from "../cluster/network.ts";
import { listeningClusterPorts } from "../cluster/ports-check.ts";

const run = promisify(execFile);
const cli = path.join(layout.clusterSource, "cli.ts");

/** Runs last (see the root vitest config): it stops the embedded cluster the other suites used. */
describe.skipIf(!inject("embeddedCluster"))("cluster down", () => {
  it("leaves no processes, mounts, loop devices, network devices or listening ports behind", async () => {
    await run(process.execPath, [cli, "down"]);

    const ours = fs
      .readdirSync("/proc")
      .filter((p) => /^\d+$/.test(p))
      .map((p) => {
        try {
          return fs.readFileSync(`/proc/${p}/cmdline`, "utf8").replaceAll("\0", " ");
        } catch {
          return "";
        }
      })
      .filter((cmd) => cmd.includes(clusterDir) || cmd.includes(runDir));
    expect(ours).toEqual([]);
    expect(mountsUnder([clusterDir, runDir])).toEqual([]);
    expect(await loopDevicesUnder(layout.csiStateDir)).toEqual([]);
    expect(await linkExists(network.nodeInterface)).toBe(false);
    expect(await linkExists(network.bridge)).toBe(false);
    expect(await listeningClusterPorts()).toEqual([]);
    expect(fs.existsSync(clusterDir)).toBe(false);

    // A second `down` finds nothing to do and still succeeds.
    await run(process.execPath, [cli, "down"]);
    // A cluster the user had started before the run is theirs: bring it back.
    if (!inject("clusterStartedForRun")) await run(process.execPath, [cli, "up"]);
  });
});
