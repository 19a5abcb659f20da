// The test populator's controller as a program of its own, for the chaos suite to SIGKILL (and the
// doctor suite to stop at a failpoint): the same `runPopulator` a populator's image runs, with the
// e2e tier's busybox-writing test populator, of the API group in $VOLPOP_TEST_POPULATOR_GROUP if set.
import { runPopulator } from "@volpop/sdk";
import { TEST_GROUP, testPopulator } from "../../support/test-populator.ts";

process.exitCode = await runPopulator({
  populator: testPopulator(undefined, process.env.VOLPOP_TEST_POPULATOR_GROUP || TEST_GROUP),
  programName: "chaos-populator",
  version: "0.0.0-chaos",
  defaults: { namespace: "chaos" },
  // Its pods run busybox (see testPopulator), never this program.
  populate: async () => {
    throw new Error("the test populator's pods do not run populate mode");
  },
  settings: { retryBaseDelayMs: 1000 },
});
