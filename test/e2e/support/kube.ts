import { inject } from "vitest";
import { type Kube, kubeFromFile } from "../../support/kube.ts";

export * from "../../support/kube.ts";

/** API clients for the cluster the e2e tier runs on (embedded, or the user's $KUBECONFIG). */
export function kube(): Kube {
  return kubeFromFile(inject("kubeconfig"));
}
