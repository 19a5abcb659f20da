import { CustomObjectsApi } from "@kubernetes/client-node";
import type { Kube } from "./kube.ts";

export const IMAGE_GROUP = "image.volpop.dev";

/** Creates an ImageSource in `namespace`. */
export async function createImageSource(
  api: Kube,
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
): Promise<void> {
  await api.config.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    group: IMAGE_GROUP,
    version: "v1alpha1",
    namespace,
    plural: "imagesources",
    body: { apiVersion: `${IMAGE_GROUP}/v1alpha1`, kind: "ImageSource", metadata: { name }, spec },
  });
}

/** A pull secret to create: its name, and the credentials it holds for `host`. */
export interface PullSecret {
  readonly name: string;
  readonly host: string;
  readonly user: string;
  readonly password: string;
}

/**
 * What a user prepares in their namespace to pull from a private registry with a private CA: the CA in
 * ConfigMap `registry-ca` (key `ca.crt`) and `kubernetes.io/dockerconfigjson` pull secrets.
 */
export async function prepareRegistryAccess(
  api: Kube,
  namespace: string,
  caPem: string,
  secrets: readonly PullSecret[],
): Promise<void> {
  await api.core.createNamespacedConfigMap({
    namespace,
    body: { metadata: { name: "registry-ca" }, data: { "ca.crt": caPem } },
  });
  for (const { name, host, user, password } of secrets) {
    const auth = Buffer.from(`${user}:${password}`).toString("base64");
    await api.core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name },
        type: "kubernetes.io/dockerconfigjson",
        stringData: { ".dockerconfigjson": JSON.stringify({ auths: { [host]: { auth } } }) },
      },
    });
  }
}
