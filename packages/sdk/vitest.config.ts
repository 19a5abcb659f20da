import { defineProject } from "vitest/config";

// `@volpop/sdk` resolves to its TypeScript sources (the README's example imports it), so the unit
// tests need no build first.
const conditions = ["volpop-source", "node", "import", "default"];

export default defineProject({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: { name: "sdk", include: ["src/**/*.test.ts"], isolate: false },
});
