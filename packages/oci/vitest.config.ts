import { defineProject } from "vitest/config";

// Workspace packages (@volpop/sdk, @volpop/oci-testing) resolve to their TypeScript sources, so the
// unit tests need no build first.
const conditions = ["volpop-source", "node", "import", "default"];

export default defineProject({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    name: "oci",
    include: ["src/**/*.test.ts"],
    isolate: false,
    // The pull integration tests start real registries (and openssl): allow for a busy machine.
    testTimeout: 15_000,
    hookTimeout: 30_000,
  },
});
