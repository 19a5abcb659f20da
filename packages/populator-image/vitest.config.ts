import { defineProject } from "vitest/config";

export default defineProject({
  test: { name: "populator-image", include: ["src/**/*.test.ts"], isolate: false },
});
