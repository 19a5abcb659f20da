/**
 * What the controller's pod spec and populate mode agree on: where the Secrets and ConfigMap copied
 * from the source's namespace are mounted (the spec travels as every populator's does: see the SDK).
 */

/** Pull secret `i` of `spec.pullSecrets` is mounted at `<this>/<i>`, its keys as files. */
export const PULL_SECRETS_DIR = "/var/run/volpop/pull-secrets";

/** The `spec.caBundle` ConfigMap is mounted here, its keys as files. */
export const CA_BUNDLE_DIR = "/var/run/volpop/ca";

/** The key of a `kubernetes.io/dockerconfigjson` Secret, and of the legacy `kubernetes.io/dockercfg`. */
export const DOCKER_CONFIG_JSON_KEY = ".dockerconfigjson";
export const DOCKER_CFG_KEY = ".dockercfg";

/** Where pull secret `index` is mounted under `root`. */
export function pullSecretDir(index: number, root: string = PULL_SECRETS_DIR): string {
  return `${root}/${index}`;
}
