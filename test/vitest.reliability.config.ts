import { defineProject } from "vitest/config";

/**
 * The reliability tier: faults injected into real populations on a real cluster (the controller
 * SIGKILLed at every step of the plan, …), each checked for correct data, one population's worth of
 * work, and nothing leaked. Same cluster and global setup as the e2e tier.
 */
export default defineProject({
  resolve: { conditions: ["volpop-source", "node", "import", "default"] },
  ssr: { resolve: { conditions: ["volpop-source", "node", "import", "default"] } },
  test: {
    name: "reliability",
    include: ["reliability/**/*.chaos.ts"],
    isolate: false,
    globalSetup: ["e2e/support/global-setup.ts"],
    testTimeout: 240_000,
    hookTimeout: 240_000,
  },
});
