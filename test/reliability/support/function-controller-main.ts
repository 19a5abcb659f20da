// The GoldenContent populator with the function strategy as a program of its own, for the chaos suite
// to SIGKILL: `runPopulator`, as a populator's image runs it, whose functions call the reference
// fast-path backend at $VOLPOP_CHAOS_BACKEND_ENDPOINT as they would a storage vendor's API.
import { DEFAULT_GOLDEN_HOST_DIR, goldenContentPopulator } from "@volpop/populator-csi-fastpath";
import { functionStrategy, runPopulator } from "@volpop/sdk";
import { BackendClient, parseEndpoint } from "@volpop/sdk/fastpath";
import { backendFunctions } from "../../support/golden-backend-functions.ts";

const endpoint = process.env.VOLPOP_CHAOS_BACKEND_ENDPOINT;
if (!endpoint) throw new Error("VOLPOP_CHAOS_BACKEND_ENDPOINT must name the fast-path backend (unix://…)");
const client = new BackendClient({ endpoint: parseEndpoint(endpoint) });

try {
  process.exitCode = await runPopulator({
    // The function strategy never falls back to pods: the folder they would mount does not matter.
    populator: goldenContentPopulator({ goldenHostDir: DEFAULT_GOLDEN_HOST_DIR }),
    programName: "chaos-function-populator",
    version: "0.0.0-chaos",
    defaults: { namespace: "chaos" },
    populate: async () => {
      throw new Error("the function strategy runs no populator pod");
    },
    strategy: functionStrategy({ pollIntervalMs: 200, ...backendFunctions(client) }),
    settings: { retryBaseDelayMs: 1000, progressIntervalMs: 1000 },
  });
} finally {
  client.close();
}
