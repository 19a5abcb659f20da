import { defineProject } from "vitest/config";

// Workspace packages resolve to their TypeScript sources, so the tests need no build first.
const conditions = ["volpop-source", "node", "import", "default"];

export default defineProject({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    name: "images",
    include: ["src/**/*.test.ts"],
    isolate: false,
    // The build tests run buildah (a whole image, twice): minutes on a busy two-core machine.
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
