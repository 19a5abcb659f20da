import type {
  V1Affinity,
  V1EnvFromSource,
  V1EnvVar,
  V1PersistentVolumeClaim,
  V1Pod,
  V1ResourceRequirements,
  V1Toleration,
  V1Volume,
  V1VolumeMount,
} from "@kubernetes/client-node";

/**
 * What a populator author implements. The SDK does everything generic (watching PVCs, the prime PVC,
 * the populator pod, rebinding the PV, events, metrics); the populator says which custom resource it
 * serves, how to check one, and how to turn one into a pod that writes the data.
 */
export interface Populator<Spec = unknown> {
  /**
   * Prefix of the finalizer and annotations the controller sets, a DNS subdomain the populator owns
   * (upstream's hello example uses `hello.example.com`).
   */
  readonly prefix: string;
  /** The source custom resource this populator serves. */
  readonly source: SourceKind;
  /**
   * Checks a source object's `spec` (untrusted: anyone who may create sources wrote it). Returns the
   * typed spec, or the problems to report on the PVC, each a sentence naming the field.
   */
  validate(spec: unknown): SourceCheck<Spec>;
  /** The pod that writes the data (Pod strategy). */
  populatorPod(source: Source<Spec>, context: PodContext): PopulatorPodSpec;
  /**
   * The last word on the populator pod, for what {@link PopulatorPodSpec} does not cover: gets the
   * finished, hardened pod (a copy: change it or return another) and returns the one to create. The
   * result is checked again (see `mutators.ts`): a pod that lost what the controller finds it by, or
   * its hardening, is refused with a `PopulatorCreationError` event naming what changed.
   */
  mutatePod?(pod: V1Pod, context: MutationContext<Spec>): V1Pod;
  /**
   * The last word on PVC' (labels for quotas or backups, a different `dataSource`…), checked like
   * {@link Populator.mutatePod}: what the PV's hand-over to the user's PVC depends on (size, access
   * and volume modes, StorageClass, node) must stay as built.
   */
  mutatePrimePvc?(pvc: V1PersistentVolumeClaim, context: MutationContext<Spec>): V1PersistentVolumeClaim;
  /**
   * Lets {@link Populator.mutatePod} weaken the pod's hardening (host namespaces, privilege,
   * capabilities, root, the API token…): the explicit opt-out, for a populator that truly needs it and
   * says so in its own documentation. What the controller finds the pod by is checked still.
   */
  readonly allowWeakerPodSecurity?: boolean;
}

/** What a mutator is told besides the object: the population it is for. */
export interface MutationContext<Spec> {
  /** The user's PVC. */
  readonly pvc: V1PersistentVolumeClaim;
  /** The validated source. */
  readonly source: Source<Spec>;
}

export interface SourceKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  /** Plural resource name, e.g. `hellos`. */
  readonly plural: string;
}

export type SourceCheck<Spec> =
  | { readonly ok: true; readonly spec: Spec }
  | { readonly ok: false; readonly problems: readonly string[] };

/** A validated source object. */
export interface Source<Spec> {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly spec: Spec;
}

export interface PodContext {
  /** Where the volume is: a directory (Filesystem) or a device node (Block) inside the pod. */
  readonly volumeMode: "Filesystem" | "Block";
  /** `mountPath` for Filesystem volumes, `devicePath` for Block ones. */
  readonly targetPath: string;
  /** The image the controller was started with (`--image-name`). */
  readonly imageName: string | undefined;
}

/** The populator pod's container, and what a cluster admin may tune about it. */
export interface PopulatorPodSpec {
  readonly image: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly env?: readonly V1EnvVar[];
  readonly envFrom?: readonly V1EnvFromSource[];
  readonly resources?: V1ResourceRequirements;
  readonly serviceAccountName?: string;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
  readonly nodeSelector?: Readonly<Record<string, string>>;
  readonly tolerations?: readonly V1Toleration[];
  /** Scheduling constraints beyond `nodeSelector` (a WaitForFirstConsumer PVC pins the node anyway). */
  readonly affinity?: V1Affinity;
  /** `priorityClassName`, e.g. for populations that must not be preempted by batch work. */
  readonly priorityClassName?: string;
  /** Secrets of the populator namespace holding registry credentials for `image`. */
  readonly imagePullSecrets?: readonly string[];
  readonly imagePullPolicy?: "Always" | "IfNotPresent" | "Never";
  /** Extra volumes (e.g. a Secret with credentials) and where the container mounts them. */
  readonly volumes?: readonly V1Volume[];
  readonly volumeMounts?: readonly V1VolumeMount[];
  /**
   * Run as root. Off by default: the pod runs as a non-root user with an fsGroup, which the kubelet
   * applies to Filesystem volumes of CSI drivers that allow it. Raw block devices are not chowned by
   * the kubelet, so Block volumes get root unless the populator says otherwise.
   */
  readonly runAsRoot?: boolean;
  /**
   * Linux capabilities to keep (all others are dropped), e.g. `CHOWN` and `FOWNER` for a populator
   * that writes files for other owners. Pod Security `baseline` allows these two; `restricted` does not.
   */
  readonly addCapabilities?: readonly string[];
  /**
   * How long the pod may run, in seconds from when its node took it (image pull and volume mount
   * included), before Kubernetes stops it and the attempt counts as failed (`activeDeadlineSeconds`).
   * A pod that hangs, on a server that trickles one byte a minute say, would otherwise hold its node's
   * resources and the user's PVC forever. Default: {@link DEFAULT_POD_DEADLINE_SECONDS}; a populator
   * that may legitimately take longer, or that knows its own bound, says so.
   */
  readonly activeDeadlineSeconds?: number;
  /**
   * Secrets and ConfigMaps of the source's namespace the pod needs (registry credentials, CA bundles).
   * A pod can only mount objects of its own namespace, so the controller copies each into the
   * populator namespace just before creating the pod, owned by PVC' so that they go away with it,
   * and mounts it read-only at `mountPath`. A missing object is reported on the user's PVC and waited for.
   */
  readonly fromSourceNamespace?: readonly SourceNamespaceObject[];
}

/** An object of the source's namespace mounted into the populator pod; see {@link PopulatorPodSpec.fromSourceNamespace}. */
export interface SourceNamespaceObject {
  readonly kind: "Secret" | "ConfigMap";
  /** Its name in the source's namespace. */
  readonly name: string;
  /** Where the container sees its keys as files, read-only. */
  readonly mountPath: string;
  /**
   * Secrets only: the types it may have (e.g. `kubernetes.io/dockerconfigjson`). The controller reads
   * Secrets with its own rights, so a populator should say what it needs: anything else is refused
   * with an event rather than copied (a TLS key named by mistake, or on purpose).
   */
  readonly secretTypes?: readonly string[];
}

/** A populator pod's {@link PopulatorPodSpec.activeDeadlineSeconds} unless the populator sets one: six hours. */
export const DEFAULT_POD_DEADLINE_SECONDS = 6 * 60 * 60;

/** Upstream's paths inside the populator pod. */
export const DEFAULT_MOUNT_PATH = "/mnt";
export const DEFAULT_DEVICE_PATH = "/dev/block";
