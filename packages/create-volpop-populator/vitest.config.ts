import { defineProject } from "vitest/config";

// The scaffolder's own tests: names, flags, what each strategy and volume mode renders. The
// generated projects are installed, type-checked and tested in test/packaging (scaffold.test.ts).
export default defineProject({
  test: { name: "create-volpop-populator", include: ["src/**/*.test.ts"], isolate: false },
});
