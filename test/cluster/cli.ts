#!/usr/bin/env node
import { parseArgs } from "node:util";
import { buildGoComponents, buildGoTools } from "./build.ts";
import { layout } from "./config.ts";
import { down } from "./down.ts";
import { buildClusterImages } from "./images.ts";
import { parseNodeCount } from "./nodes.ts";
import { logFile } from "./processes.ts";
import { clusterStatus } from "./status.ts";
import { requireRoot, up } from "./up.ts";

const usage = `Usage: pnpm cluster <command> [--nodes N]

The embedded Kubernetes cluster volpop's tests run on (one node unless told otherwise).

Commands:
  up          build what is missing (cached under ~/.cache/volpop), then start the cluster; no-op when it is up
              --nodes N: N kubelet nodes (1-5), each further one in a network namespace of its own
  down        stop everything, unmount, remove network devices and the cluster's state
  status      each component's pid and readiness; exit 1 unless all are ready
  kubeconfig  print the admin kubeconfig's path
  logs        print where each component's log is
  build       build the pinned components, tools (helm) and images without starting anything
`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { help: { type: "boolean", short: "h" }, nodes: { type: "string" } },
  });
  const [command] = positionals;
  if (values.help || command === undefined) {
    process.stdout.write(usage);
    return command === undefined && !values.help ? 2 : 0;
  }
  switch (command) {
    case "up":
      await up(values.nodes === undefined ? {} : { nodes: parseNodeCount(values.nodes) });
      return 0;
    case "down":
      requireRoot("down");
      await down();
      return 0;
    case "status": {
      const status = await clusterStatus();
      for (const c of status) {
        process.stdout.write(
          `${c.name.padEnd(24)} ${c.pid === undefined ? "not running" : `pid ${c.pid}`.padEnd(12)} ${c.ready ? "ready" : "NOT READY"}\n`,
        );
      }
      return status.every((c) => c.ready) ? 0 : 1;
    }
    case "kubeconfig":
      process.stdout.write(`${layout.adminKubeconfig}\n`);
      return 0;
    case "logs":
      for (const c of await clusterStatus())
        process.stdout.write(`${c.name.padEnd(24)} ${logFile(c.name)}\n`);
      return 0;
    case "build":
      await buildGoComponents();
      await buildGoTools();
      await buildClusterImages();
      return 0;
    default:
      process.stderr.write(`unknown command ${JSON.stringify(command)}\n\n${usage}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`cluster: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
