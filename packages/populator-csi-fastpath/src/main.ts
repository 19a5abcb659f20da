#!/usr/bin/env node
import { CliUsageError, type ExtraOptions, runPopulator } from "@volpop/sdk";
import { parsePopulatorArgs } from "@volpop/sdk/runtime";
import { runBackendDaemon } from "./backend/daemon.ts";
import { populateGoldenContent } from "./populate.ts";
import {
  DEFAULT_GOLDEN_HOST_DIR,
  DEFAULT_IMAGE,
  GOLDEN_MOUNT_PATH,
  goldenContentPopulator,
} from "./populator.ts";
import { VERSION } from "./version.ts";

const PROGRAM_NAME = "csi-fastpath-populator";
const DEFAULTS = { namespace: "volpop-fastpath", imageName: DEFAULT_IMAGE };
const FLAGS = {
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
} as const satisfies ExtraOptions;

// One image, two programs: `main.js backend ...` is the node's fast-path backend (DaemonSet); anything
// else is the populator (controller or populate mode), as upstream's examples.
const argv = process.argv.slice(2);
if (argv[0] === "backend") {
  process.exitCode = await runBackendDaemon(argv.slice(1));
} else {
  process.exitCode = await runPopulator(
    {
      populator: goldenContentPopulator({ goldenHostDir: goldenHostDirOf(argv) }),
      programName: PROGRAM_NAME,
      version: VERSION,
      defaults: DEFAULTS,
      flags: FLAGS,
      populate: (context) => populateGoldenContent(context),
    },
    argv,
  );
}

/**
 * `--golden-host-dir`, which the pod spec needs before `runPopulator` starts: the same command line
 * read with the same flags. One that `runPopulator` will refuse (and say why), or `--help`, gives
 * the default.
 */
function goldenHostDirOf(args: readonly string[]): string {
  try {
    const parsed = parsePopulatorArgs(
      args,
      { ...DEFAULTS, version: VERSION, programName: PROGRAM_NAME },
      FLAGS,
    );
    return (parsed.action === "run" && parsed.options.extra["golden-host-dir"]) || DEFAULT_GOLDEN_HOST_DIR;
  } catch (error) {
    if (error instanceof CliUsageError) return DEFAULT_GOLDEN_HOST_DIR;
    throw error;
  }
}
