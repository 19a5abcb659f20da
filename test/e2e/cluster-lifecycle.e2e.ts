import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, inject, it } from "vitest";
import { clusterDir, layout, network, runDir } from "../cluster/config.ts";
import { loopDevicesUnder, mountsUnder } from "../cluster/mounts.ts";
import { linkExists, nodeNamespaces } from "../cluster/network.ts";
import { clusterNodes } from "../cluster/nodes.ts";
import { listeningClusterPorts } from "../cluster/ports-check.ts";

const run = promisify(execFile);
const cli = path.join(layout.clusterSource, "cli.ts");

/** Runs last (see the root vitest config): it stops the embedded cluster the other suites used. */
describe.skipIf(!inject("embeddedCluster"))("cluster down", () => {
  it("leaves no processes, mounts, loop devices, network devices, namespaces, cgroups or listening ports behind", async () => {
    const nodes = clusterNodes();
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
    expect(await loopDevicesUnder(clusterDir)).toEqual([]);
    expect(await linkExists(network.nodeInterface)).toBe(false);
    expect(await linkExists(network.bridge)).toBe(false);
    expect(await nodeNamespaces()).toEqual([]);
    for (const node of nodes) {
      if (node.hostVeth) expect(await linkExists(node.hostVeth)).toBe(false);
      if (node.cgroupRoot) expect(leftCgroups(node.cgroupRoot)).toEqual([]);
    }
    expect(await listeningClusterPorts()).toEqual([]);
    expect(fs.existsSync(clusterDir)).toBe(false);

    // A second `down` finds nothing to do and still succeeds.
    await run(process.execPath, [cli, "down"]);
    // A cluster the user had started before the run is theirs: bring it back.
    if (!inject("clusterStartedForRun")) await run(process.execPath, [cli, "up", `--nodes=${nodes.length}`]);
  });
});

/** Where a node's cgroup is still there: the unified hierarchy (v2), or any of v1's. */
function leftCgroups(root: string): string[] {
  const hierarchies = ["", ...fs.readdirSync("/sys/fs/cgroup")];
  return hierarchies
    .map((hierarchy) => path.join("/sys/fs/cgroup", hierarchy, root))
    .filter((dir) => fs.existsSync(dir));
}
