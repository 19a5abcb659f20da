/**
 * Names of the objects and keys a populator creates, kept identical to upstream
 * lib-volume-populator so that clusters can move between the two without orphaning objects.
 */

/** Name of the temporary PVC (PVC') that receives the data before its PV is handed to the user's PVC. */
export function primePvcName(pvcUid: string): string {
  return `prime-${pvcUid}`;
}

/** Name of the pod that writes the data into PVC' (Pod strategy). */
export function populatorPodName(pvcUid: string): string {
  return `populate-${pvcUid}`;
}

/** Finalizer kept on the user's PVC while a population is in progress. */
export function targetProtectionFinalizer(prefix: string): string {
  return `${checkPrefix(prefix)}/populate-target-protection`;
}

/** Annotation on the populated PV naming the source: `<namespace>/<source name>`. */
export function populatedFromAnnotation(prefix: string): string {
  return `${checkPrefix(prefix)}/populated-from`;
}

/**
 * On PVC' and the populator pod: `<namespace>/<name>` of the user's PVC they serve (volpop addition).
 * Says whose they are: a controller sweeps only temporaries carrying its own prefix here, never
 * another populator's sharing the namespace, nor ones an upstream controller left.
 */
export function populateForAnnotation(prefix: string): string {
  return `${checkPrefix(prefix)}/populate-for`;
}
/** Annotation on the user's PVC carrying the population's progress (volpop addition). */
export function populateProgressAnnotation(prefix: string): string {
  return `${checkPrefix(prefix)}/populate-progress`;
}

/** Annotations on PVC' that carry the retry state across controller restarts (volpop addition). */
export function populateAttemptsAnnotation(prefix: string): string {
  return `${checkPrefix(prefix)}/populate-attempts`;
}
export function populateLastFailureAnnotation(prefix: string): string {
  return `${checkPrefix(prefix)}/populate-last-failure`;
}
/** Set to `failed` on PVC' once the population is given up. */
export function populateStateAnnotation(prefix: string): string {
  return `${checkPrefix(prefix)}/populate-state`;
}

/** The copy of the `index`-th object a populator pod takes from the source's namespace. */
export function copiedObjectName(pvcUid: string, index: number): string {
  return `populate-${pvcUid}-${index}`;
}

/** On PVC': which strategy fills it (e.g. `pod`), decided once so restarts keep to it. */
export function populateStrategyAnnotation(prefix: string): string {
  return `${checkPrefix(prefix)}/populate-strategy`;
}

/**
 * `<prefix>/<name>`, the populator's own key for a label or annotation: strategies name theirs with
 * it, so that every key a populator sets carries its prefix.
 */
export function populatorKey(prefix: string, name: string): string {
  return `${checkPrefix(prefix)}/${name}`;
}

/** Label on PVC' and populator pods naming the user's PVC uid, for finding them and for humans. */
export const POPULATE_FOR_LABEL = "volpop.dev/populate-for";
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY = "volpop";

/** Name of the populator pod's container and of its volume, as upstream. */
export const POPULATOR_CONTAINER_NAME = "populate";
export const POPULATOR_VOLUME_NAME = "target";

/** Annotation set by the scheduler on WaitForFirstConsumer PVCs. */
export const SELECTED_NODE_ANNOTATION = "volume.kubernetes.io/selected-node";
/** Set by kube-controller-manager's PV controller when it hands a claim to an external provisioner. */
export const STORAGE_PROVISIONER_ANNOTATIONS = [
  "volume.kubernetes.io/storage-provisioner",
  "volume.beta.kubernetes.io/storage-provisioner",
] as const;

// A DNS-1123 subdomain, which is what Kubernetes accepts before the `/` of an annotation key or finalizer.
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function checkPrefix(prefix: string): string {
  if (!DNS_SUBDOMAIN.test(prefix)) {
    throw new TypeError(
      `populator prefix ${JSON.stringify(prefix)} is not a DNS subdomain (e.g. "hello.example.com")`,
    );
  }
  return prefix;
}
