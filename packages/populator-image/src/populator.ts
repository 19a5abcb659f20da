import type { CredentialPolicy } from "@volpop/oci";
import type { Populator, PopulatorPodSpec, SourceNamespaceObject } from "@volpop/sdk";
import {
  IMAGE_SOURCE_GROUP,
  IMAGE_SOURCE_KIND,
  IMAGE_SOURCE_PLURAL,
  IMAGE_SOURCE_VERSION,
  type ImageSourceSpec,
  imageSourceSpec,
} from "./image-source.ts";
import { ownerCapabilities } from "./owner-capabilities.ts";
import { CA_BUNDLE_DIR, pullSecretDir } from "./pod-layout.ts";
import { DEFAULT_SETTINGS, type ImagePopulatorSettings, settingsArgs } from "./settings.ts";

/** Kubernetes resource requirements, as the SDK's pod spec takes them. */
export type ResourceRequirements = NonNullable<PopulatorPodSpec["resources"]>;

/** Registry credentials only: the controller will not copy any other Secret for a source. */
const PULL_SECRET_TYPES: readonly string[] = ["kubernetes.io/dockerconfigjson", "kubernetes.io/dockercfg"];

/** Image used when the controller is started without `--image-name`. */
export const DEFAULT_IMAGE = "volpop/populator-image:latest";

/**
 * The populator pod's resources. Layers stream from the registry through decompression into the
 * volume, never held whole, so memory stays flat whatever the image's size; the request equals
 * the limit so that a busy node cannot take it back mid-pull.
 */
export const DEFAULT_RESOURCES: ResourceRequirements = {
  requests: { cpu: "100m", memory: "256Mi" },
  limits: { memory: "256Mi" },
};

/** V8's heap, kept well under the memory limit: the rest is zlib's and the sockets' buffers. */
const NODE_OPTIONS = "--max-old-space-size=160";

/**
 * Time a populator pod gets beyond the population deadline, for what comes before populate mode
 * starts (pulling the populator's image, attaching and mounting the volume) and the clean-up after.
 */
export const POD_DEADLINE_MARGIN_SECONDS = 10 * 60;

export interface ImagePopulatorOptions {
  /** The populator pod's resources. Default: {@link DEFAULT_RESOURCES}. */
  readonly resources?: ResourceRequirements;
  /**
   * How long one population may take (`--population-deadline`), in milliseconds: handed on to
   * populate mode, and with {@link POD_DEADLINE_MARGIN_SECONDS} more the pod's
   * `activeDeadlineSeconds`. Default: one hour.
   */
  readonly populationDeadlineMs?: number;
  /**
   * Where pull secrets' credentials may go beyond the registry's own host over TLS
   * (`--allow-credentials-over-http`, `--allow-token-realm`), handed on to populate mode. Default: nowhere.
   */
  readonly credentialPolicy?: CredentialPolicy;
}

/**
 * The ImageSource populator: a pod running this package's own image in populate mode pulls the
 * image named by the source and writes it into the new volume (see populate.ts). The SDK hands the
 * checked spec to populate mode; pull secrets and the CA bundle, which live in the source's
 * namespace, are copied by the controller and mounted read-only (see pod-layout.ts). The pod runs
 * as uid 65532 without capabilities, except for a Filesystem volume with `spec.owner`: then as root
 * with the few capabilities that giving files away takes (see owner-capabilities.ts). The admin's
 * settings (the deadline, where credentials may go) are handed on as flags (see settings.ts).
 */
export function imagePopulator(options: ImagePopulatorOptions = {}): Populator<ImageSourceSpec> {
  return {
    prefix: IMAGE_SOURCE_GROUP,
    source: {
      group: IMAGE_SOURCE_GROUP,
      version: IMAGE_SOURCE_VERSION,
      kind: IMAGE_SOURCE_KIND,
      plural: IMAGE_SOURCE_PLURAL,
    },
    validate: imageSourceSpec.validate,
    populatorPod(source, context) {
      const { spec } = source;
      const fromSourceNamespace: SourceNamespaceObject[] = spec.pullSecrets.map((secret, index) => ({
        kind: "Secret",
        name: secret.name,
        mountPath: pullSecretDir(index),
        secretTypes: PULL_SECRET_TYPES,
      }));
      if (spec.caBundle !== undefined) {
        fromSourceNamespace.push({
          kind: "ConfigMap",
          name: spec.caBundle.configMap,
          mountPath: CA_BUNDLE_DIR,
        });
      }
      // Block volumes ignore spec.owner (and run as root anyway, see the SDK's runAsRoot).
      const capabilities = context.volumeMode === "Filesystem" ? ownerCapabilities(spec) : [];
      const settings: ImagePopulatorSettings = {
        populationDeadlineMs: options.populationDeadlineMs ?? DEFAULT_SETTINGS.populationDeadlineMs,
        credentialPolicy: options.credentialPolicy ?? DEFAULT_SETTINGS.credentialPolicy,
      };
      return {
        image: context.imageName ?? DEFAULT_IMAGE,
        // The admin's settings travel as flags; nothing of the spec is ever parsed as one.
        args: ["--mode=populate", ...settingsArgs(settings)],
        activeDeadlineSeconds: Math.ceil(settings.populationDeadlineMs / 1000) + POD_DEADLINE_MARGIN_SECONDS,
        env: [{ name: "NODE_OPTIONS", value: NODE_OPTIONS }],
        resources: options.resources ?? DEFAULT_RESOURCES,
        ...(capabilities.length === 0 ? {} : { runAsRoot: true, addCapabilities: capabilities }),
        ...(fromSourceNamespace.length === 0 ? {} : { fromSourceNamespace }),
      };
    },
  };
}
