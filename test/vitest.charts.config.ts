import { defineProject } from "vitest/config";

/**
 * The Helm charts (charts/): `helm lint --strict`, `helm template` snapshots, their drift from the
 * kustomize bases and bad values, with the pinned Helm. No cluster; seconds once Helm is built (a cold
 * build of it, minutes, happens in the first hook on a machine that never ran `cli.ts build`).
 */
export default defineProject({
  resolve: { conditions: ["volpop-source", "node", "import", "default"] },
  ssr: { resolve: { conditions: ["volpop-source", "node", "import", "default"] } },
  test: {
    name: "charts",
    include: ["charts/**/*.test.ts"],
    isolate: false,
    hookTimeout: 1_200_000,
  },
});
