#!/usr/bin/env node
import { parseArgs } from "node:util";
import { runPopulator } from "@volpop/sdk";
import { runBackendDaemon } from "./backend/daemon.ts";
import { populateGoldenContent } from "./populate.ts";
import {
  DEFAULT_GOLDEN_HOST_DIR,
  DEFAULT_IMAGE,
  GOLDEN_MOUNT_PATH,
  goldenContentPopulator,
} from "./populator.ts";
import { VERSION } from "./version.ts";

// One image, two programs: `main.js backend ...` is the node's fast-path backend (DaemonSet); anything
// else is the populator (controller or populate mode), as upstream's examples.
const argv = process.argv.slice(2);
if (argv[0] === "backend") {
  process.exitCode = await runBackendDaemon(argv.slice(1));
} else {
  // The pod spec needs the host directory before runPopulator parses the flags: peek at it.
  const { values } = parseArgs({
    args: argv,
    options: { "golden-host-dir": { type: "string" } },
    strict: false,
    allowPositionals: true,
  });
  const goldenHostDir =
    typeof values["golden-host-dir"] === "string" ? values["golden-host-dir"] : DEFAULT_GOLDEN_HOST_DIR;
  process.exitCode = await runPopulator({
    populator: goldenContentPopulator({ goldenHostDir }),
    programName: "csi-fastpath-populator",
    version: VERSION,
    defaults: { namespace: "volpop-fastpath", imageName: DEFAULT_IMAGE },
    flags: {
      "golden-host-dir": {
        type: "string",
        description: `Controller mode: node directory with the golden content, mounted read-only into populator pods (default ${DEFAULT_GOLDEN_HOST_DIR})`,
      },
      "golden-dir": {
        type: "string",
        description: `Populate mode: where the golden directory is mounted (default ${GOLDEN_MOUNT_PATH})`,
      },
      "operation-id": {
        type: "string",
        description: "Populate mode: the user PVC's uid, written into the volume's marker while copying",
      },
    },
    populate: (context) => populateGoldenContent(context),
  });
}
