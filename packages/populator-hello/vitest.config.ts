import { defineProject } from "vitest/config";

// Workspace packages (@volpop/sdk) resolve to their TypeScript sources, so the unit tests need no
// build of the SDK first.
const conditions = ["volpop-source", "node", "import", "default"];

export default defineProject({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: { name: "populator-hello", include: ["src/**/*.test.ts"], isolate: false },
});
