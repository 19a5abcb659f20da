#!/usr/bin/env node
import { runPopulator } from "@volpop/sdk";
import { testPopulator } from "../test/support/test-populator.ts";

/** The SDK's test populator as its own process, so the benchmark measures the controller alone. */
process.exitCode = await runPopulator({
  populator: testPopulator(),
  programName: "test-populator",
  version: "bench",
  defaults: { namespace: "volpop-bench" },
  populate: async () => undefined,
});
