import { defineProject } from "vitest/config";

// The catalogue's own tests: the case wrapper, the reading of test files and run results, and the
// check that docs/reliability.md lists exactly the cases the tests register.
export default defineProject({
  test: { name: "test-catalogue", include: ["src/**/*.test.ts"], isolate: false },
});
