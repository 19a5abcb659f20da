import type { FlagDeclaration } from "../declaration.ts";

const KUBECONFIG = {
  type: "string",
  description: "Path to a kubeconfig; only needed out of cluster",
} as const satisfies FlagDeclaration;

const MASTER = {
  type: "string",
  description: "Address of the Kubernetes API server; overrides the kubeconfig",
} as const satisfies FlagDeclaration;

/** `--kubeconfig`; unset or empty: `$KUBECONFIG`, `~/.kube/config` or in-cluster. */
export function kubeconfigFlags(): { readonly kubeconfig: typeof KUBECONFIG };
/** `--kubeconfig` and `--master`, the API server address upstream's populator takes too. */
export function kubeconfigFlags(options: { readonly master: true }): {
  readonly kubeconfig: typeof KUBECONFIG;
  readonly master: typeof MASTER;
};
export function kubeconfigFlags(options?: { readonly master: true }) {
  return options?.master ? { kubeconfig: KUBECONFIG, master: MASTER } : { kubeconfig: KUBECONFIG };
}
