import { defineProject } from "vitest/config";

// Pure logic of the test infrastructure (cluster launcher, CSI driver): no cluster needed.
export default defineProject({
  test: { name: "test-infra", include: ["cluster/**/*.test.ts"], isolate: false },
});
