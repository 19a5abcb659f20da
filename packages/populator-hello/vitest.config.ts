import { defineProject } from "vitest/config";

export default defineProject({
  test: { name: "populator-hello", include: ["src/**/*.test.ts"], isolate: false },
});
