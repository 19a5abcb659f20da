#!/usr/bin/env node
// The program entry, not the whole SDK: the populator pod's populate mode then loads a few kilobytes
// instead of the Kubernetes client it never uses (half a second of CPU per pod on a small node).
import { runPopulator } from "@volpop/sdk/run";
import { HELLO_GROUP } from "./hello.ts";
import { writeHello } from "./populate.ts";
import { DEFAULT_IMAGE, helloPopulator } from "./populator.ts";
import { VERSION } from "./version.ts";

process.exitCode = await runPopulator({
  populator: helloPopulator,
  programName: "hello-populator",
  version: VERSION,
  defaults: { namespace: "hello", imageName: DEFAULT_IMAGE },
  flags: {
    "file-name": {
      type: "string",
      description: `Populate mode: name of the file to write (from a ${HELLO_GROUP} Hello)`,
    },
    "file-contents": {
      type: "string",
      description: "Populate mode: contents of the file; a newline is added",
    },
  },
  populate: ({ target, extra }) => writeHello(target, extra),
});
