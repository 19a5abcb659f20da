#!/usr/bin/env node
// The program entry, not the whole SDK: the populator pod's populate mode then loads a few kilobytes
// instead of the Kubernetes client it never uses (half a second of CPU per pod on a small node).
import { runPopulator } from "@volpop/sdk/run";
import { writeHello } from "./populate.ts";
import { DEFAULT_IMAGE, helloPopulator } from "./populator.ts";
import { VERSION } from "./version.ts";

process.exitCode = await runPopulator({
  populator: helloPopulator,
  programName: "hello-populator",
  version: VERSION,
  defaults: { namespace: "hello", imageName: DEFAULT_IMAGE },
  populate: ({ target, spec }) => writeHello(target, spec),
});
