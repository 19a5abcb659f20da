import fs from "node:fs";
import { inject } from "vitest";
import { layout } from "../../cluster/config.ts";
import { type Kube, kubeFromFile } from "../../support/kube.ts";

export * from "../../support/kube.ts";

/** API clients for the cluster the e2e tier runs on (embedded, or the user's $KUBECONFIG). */
export function kube(): Kube {
  return kubeFromFile(inject("kubeconfig"));
}

/** The kubectl to run: the embedded cluster's pinned one when it is built, else the one on PATH. */
export function kubectlBinary(): string {
  const pinned = layout.bin("kubernetes", "kubectl");
  return fs.existsSync(pinned) ? pinned : "kubectl";
}
