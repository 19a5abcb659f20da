import { defineProject } from "vitest/config";

export default defineProject({
  test: { name: "populator-csi-fastpath", include: ["src/**/*.test.ts"], isolate: false },
});
