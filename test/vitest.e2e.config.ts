import { defineProject } from "vitest/config";

/**
 * The e2e tier: real Kubernetes. The global setup brings the embedded cluster up once (or uses
 * $KUBECONFIG untouched) and hands the kubeconfig path to every suite through `inject("kubeconfig")`.
 */
export default defineProject({
  // Workspace packages resolve to their TypeScript sources (the `volpop-source` export condition), so
  // the e2e tier tests the code as it is, without a build first.
  resolve: { conditions: ["volpop-source", "node", "import", "default"] },
  ssr: { resolve: { conditions: ["volpop-source", "node", "import", "default"] } },
  test: {
    name: "e2e",
    // The reliability tier (faults injected into real populations) shares the cluster and its one
    // global setup: a second project would start it again, and run after the lifecycle test stopped it.
    include: ["e2e/**/*.e2e.ts", "reliability/**/*.chaos.ts"],
    // Suites share one cluster and no module state worth isolating; a fresh worker per file only costs time.
    isolate: false,
    globalSetup: ["e2e/support/global-setup.ts"],
    testTimeout: 240_000,
    hookTimeout: 240_000,
  },
});
