/**
 * The last word a populator has on the objects the SDK creates for it (upstream lib-volume-populator's
 * `MutatorConfig`): `mutatePod` and `mutatePrimePvc` get the finished, hardened object and return the
 * one to create. What they return is checked again before anything is created:
 *
 * - **identity**, always: names, namespace, the labels and annotations the controller finds its objects
 *   by, the populator container and its target volume, and for PVC' everything that must match the
 *   user's PVC for the PV to be handed over (access modes, volume mode, size, StorageClass, node);
 * - **hardening** of the pod, unless the populator opts out with `allowWeakerPodSecurity`: no host
 *   namespaces, host paths or host ports, no privilege, capabilities dropped, read-only root, seccomp
 *   and AppArmor confined, SELinux and /proc as Pod Security `baseline` allows, non-root when the SDK
 *   chose non-root, no service account or API token that was not asked for.
 *
 * A mutator that breaks either is refused with an event on the user's PVC naming what it broke,
 * rather than creating an object that would leak privileges or never be found again.
 */
import type {
  V1Container,
  V1ObjectMeta,
  V1PersistentVolumeClaim,
  V1Pod,
  V1SecurityContext,
} from "@kubernetes/client-node";
import {
  MANAGED_BY_LABEL,
  POPULATE_FOR_LABEL,
  POPULATOR_CONTAINER_NAME,
  POPULATOR_VOLUME_NAME,
  SELECTED_NODE_ANNOTATION,
} from "./names.ts";

/** The result of running a mutator: the object to create, or why none is. */
export type Mutated<T> =
  | { readonly ok: true; readonly object: T }
  | { readonly ok: false; readonly problems: string[] };

/**
 * Runs `mutate` on a copy of `built` (a mutator may change its argument in place or return a new
 * object) and checks what comes back with `check(built, mutated)`.
 */
export function applyMutator<T>(
  built: T,
  mutate: ((object: T) => T) | undefined,
  check: (built: T, mutated: T) => string[],
): Mutated<T> {
  if (!mutate) return { ok: true, object: built };
  let mutated: T;
  try {
    mutated = mutate(structuredClone(built));
  } catch (error) {
    return {
      ok: false,
      problems: [`the mutator threw: ${error instanceof Error ? error.message : String(error)}`],
    };
  }
  if (mutated === undefined || mutated === null)
    return { ok: false, problems: ["the mutator returned nothing"] };
  const problems = check(built, mutated);
  return problems.length === 0 ? { ok: true, object: mutated } : { ok: false, problems };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** Changes to what the controller finds its objects by: name, namespace, its two labels. */
function findingProblems(built: V1ObjectMeta | undefined, mutated: V1ObjectMeta | undefined): string[] {
  const problems: string[] = [];
  for (const field of ["name", "namespace"] as const) {
    if (mutated?.[field] !== built?.[field]) problems.push(`changed metadata.${field}`);
  }
  for (const label of [MANAGED_BY_LABEL, POPULATE_FOR_LABEL]) {
    if (mutated?.labels?.[label] !== built?.labels?.[label]) problems.push(`changed label ${label}`);
  }
  return problems;
}

/** What a pod mutator changed that the controller depends on; see the module comment. */
export function podIdentityProblems(built: V1Pod, mutated: V1Pod): string[] {
  const problems = findingProblems(built.metadata, mutated.metadata);
  for (const [key, value] of Object.entries(built.metadata?.annotations ?? {})) {
    // The populator's own annotations (from its pod spec) are its to change; the attempt count is not.
    if (key.endsWith("/populate-attempts") && mutated.metadata?.annotations?.[key] !== value)
      problems.push(`changed annotation ${key}`);
  }
  if (mutated.spec?.restartPolicy !== built.spec?.restartPolicy) problems.push("changed spec.restartPolicy");
  if (mutated.spec?.nodeName !== built.spec?.nodeName) problems.push("changed spec.nodeName");
  const container = mutated.spec?.containers?.find((c) => c.name === POPULATOR_CONTAINER_NAME);
  if (!container) problems.push(`removed the ${POPULATOR_CONTAINER_NAME} container`);
  const target = (pod: V1Pod) => pod.spec?.volumes?.find((v) => v.name === POPULATOR_VOLUME_NAME);
  if (!same(target(mutated), target(built)))
    problems.push(`changed the ${POPULATOR_VOLUME_NAME} volume (PVC')`);
  const builtContainer = built.spec?.containers?.find((c) => c.name === POPULATOR_CONTAINER_NAME);
  if (container && builtContainer) {
    const targetUse = (c: V1Container) => ({
      mount: c.volumeMounts?.find((m) => m.name === POPULATOR_VOLUME_NAME),
      device: c.volumeDevices?.find((d) => d.name === POPULATOR_VOLUME_NAME),
    });
    if (!same(targetUse(container), targetUse(builtContainer)))
      problems.push(`changed where the ${POPULATOR_CONTAINER_NAME} container sees the volume`);
  }
  return problems;
}

/** What a pod mutator weakened of the SDK's hardening; see the module comment. */
export function podHardeningProblems(built: V1Pod, mutated: V1Pod): string[] {
  const problems: string[] = [];
  const spec = mutated.spec ?? { containers: [] };
  for (const host of ["hostNetwork", "hostPID", "hostIPC"] as const) {
    if (spec[host] === true) problems.push(`set spec.${host}`);
  }
  // Judged against what was built: a populator's own pod spec may carry what a mutator may not add.
  const builtVolumes = new Map((built.spec?.volumes ?? []).map((v) => [v.name, JSON.stringify(v)]));
  const apiAccess = built.spec?.automountServiceAccountToken !== false;
  for (const volume of spec.volumes ?? []) {
    if (builtVolumes.get(volume.name) === JSON.stringify(volume)) continue;
    if (volume.hostPath) problems.push(`added hostPath volume ${volume.name}`);
    const tokens = volume.projected?.sources?.some((source) => source.serviceAccountToken) ?? false;
    if (tokens && !apiAccess) problems.push(`added a service account token in volume ${volume.name}`);
  }
  if (spec.serviceAccountName !== built.spec?.serviceAccountName)
    problems.push("changed spec.serviceAccountName");
  if (spec.serviceAccount !== built.spec?.serviceAccount) problems.push("changed spec.serviceAccount");
  if (built.spec?.automountServiceAccountToken === false && spec.automountServiceAccountToken !== false) {
    problems.push("turned the service account token back on");
  }
  const builtPod = built.spec?.securityContext ?? {};
  const pod = spec.securityContext ?? {};
  if (builtPod.runAsNonRoot === true && pod.runAsNonRoot !== true) problems.push("dropped runAsNonRoot");
  if (builtPod.runAsNonRoot === true && pod.runAsUser === 0) problems.push("set runAsUser 0");
  if (builtPod.seccompProfile && !seccompConfined(pod.seccompProfile?.type))
    problems.push("dropped the seccomp profile");
  if (pod.appArmorProfile?.type === "Unconfined") problems.push("set an Unconfined AppArmor profile");
  if (!safeSeLinuxType(pod.seLinuxOptions?.type))
    problems.push(`set SELinux type ${pod.seLinuxOptions?.type}`);
  const builtAdds = new Set(
    built.spec?.containers?.flatMap((c) => c.securityContext?.capabilities?.add ?? []) ?? [],
  );
  const nonRoot = builtPod.runAsNonRoot === true;
  for (const container of [...(spec.initContainers ?? []), ...spec.containers]) {
    problems.push(...containerProblems(container, builtAdds, nonRoot));
  }
  return problems;
}

// Pod Security `baseline` allows these SELinux types, or none at all.
const SAFE_SELINUX_TYPES = new Set([
  "container_t",
  "container_init_t",
  "container_kvm_t",
  "container_engine_t",
]);

function safeSeLinuxType(type: string | undefined): boolean {
  return type === undefined || type === "" || SAFE_SELINUX_TYPES.has(type);
}

function seccompConfined(type: string | undefined): boolean {
  return type === "RuntimeDefault" || type === "Localhost";
}

function containerProblems(
  container: V1Container,
  allowedAdds: ReadonlySet<string>,
  nonRoot: boolean,
): string[] {
  const name = `container ${container.name}`;
  const security: V1SecurityContext = container.securityContext ?? {};
  const problems: string[] = [];
  if (security.privileged === true) problems.push(`${name}: privileged`);
  if (security.seccompProfile && !seccompConfined(security.seccompProfile.type))
    problems.push(`${name}: seccomp profile ${security.seccompProfile.type}`);
  if (security.appArmorProfile?.type === "Unconfined") problems.push(`${name}: Unconfined AppArmor profile`);
  if (!safeSeLinuxType(security.seLinuxOptions?.type))
    problems.push(`${name}: SELinux type ${security.seLinuxOptions?.type}`);
  if (security.procMount !== undefined && security.procMount !== "Default")
    problems.push(`${name}: procMount ${security.procMount}`);
  for (const port of container.ports ?? []) {
    if (port.hostPort) problems.push(`${name}: hostPort ${port.hostPort}`);
  }
  if (security.allowPrivilegeEscalation !== false)
    problems.push(`${name}: allowPrivilegeEscalation not false`);
  if (security.readOnlyRootFilesystem !== true) problems.push(`${name}: root filesystem not read-only`);
  if (!security.capabilities?.drop?.includes("ALL")) problems.push(`${name}: capabilities not dropped`);
  for (const added of security.capabilities?.add ?? []) {
    if (!allowedAdds.has(added)) problems.push(`${name}: added capability ${added}`);
  }
  // A container-level override of the pod's non-root choice.
  if (nonRoot && (security.runAsUser === 0 || security.runAsNonRoot === false))
    problems.push(`${name}: runs as root`);
  return problems;
}

/** What a PVC' mutator changed that the hand-over depends on; see the module comment. */
export function primePvcProblems(built: V1PersistentVolumeClaim, mutated: V1PersistentVolumeClaim): string[] {
  const problems = findingProblems(built.metadata, mutated.metadata);
  if (
    mutated.metadata?.annotations?.[SELECTED_NODE_ANNOTATION] !==
    built.metadata?.annotations?.[SELECTED_NODE_ANNOTATION]
  ) {
    problems.push(`changed annotation ${SELECTED_NODE_ANNOTATION}`);
  }
  // The PV made for PVC' is handed to the user's PVC: it must fit that claim as it fits PVC'.
  // volumeName and selector would bind PVC' to a PV of someone else's.
  const fits = (pvc: V1PersistentVolumeClaim) => ({
    accessModes: pvc.spec?.accessModes,
    volumeMode: pvc.spec?.volumeMode,
    storageClassName: pvc.spec?.storageClassName,
    storage: pvc.spec?.resources?.requests?.storage,
    volumeName: pvc.spec?.volumeName,
    selector: pvc.spec?.selector,
  });
  const before = fits(built);
  const after = fits(mutated);
  for (const key of Object.keys(before) as (keyof typeof before)[]) {
    if (!same(after[key], before[key])) problems.push(`changed spec ${key}`);
  }
  return problems;
}
