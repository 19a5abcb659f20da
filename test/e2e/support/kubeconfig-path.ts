import { inject } from "vitest";

/** Path of the kubeconfig the e2e tier runs against, for code that takes a path (e.g. `--kubeconfig`). */
export function kubeconfigPathForTests(): string {
  return inject("kubeconfig");
}
