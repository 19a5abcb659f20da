import { defineProject } from "vitest/config";

export default defineProject({
  test: { name: "validator", include: ["src/**/*.test.ts"], isolate: false },
});
