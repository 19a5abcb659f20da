import { defineProject } from "vitest/config";

// @volpop/oci resolves to its TypeScript sources, so the tests need no build first.
const conditions = ["volpop-source", "node", "import", "default"];

export default defineProject({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    name: "oci-testing",
    include: ["src/**/*.test.ts"],
    isolate: false,
    // The local registry's tests start real registries (and openssl): allow for a busy machine.
    testTimeout: 15_000,
    hookTimeout: 30_000,
  },
});
