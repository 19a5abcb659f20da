import { defineProject } from "vitest/config";

// The generators import the packages' TypeScript sources (the `volpop-source` export condition), so
// the docs tests need no package build first.
const conditions = ["volpop-source", "node", "import", "default"];

export default defineProject({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    name: "docs",
    isolate: false,
    include: ["site/**/*.test.ts"],
    // The site test builds the whole site (TypeDoc, then VitePress) before it opens a browser.
    hookTimeout: 600_000,
    testTimeout: 120_000,
  },
});
