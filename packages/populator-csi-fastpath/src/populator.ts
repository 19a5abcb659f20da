import type { Populator } from "@volpop/sdk";
import { POPULATE_FOR_LABEL } from "@volpop/sdk/runtime";
import {
  checkGoldenContentSpec,
  GOLDEN_CONTENT_GROUP,
  GOLDEN_CONTENT_KIND,
  GOLDEN_CONTENT_PLURAL,
  GOLDEN_CONTENT_VERSION,
  type GoldenContentSpec,
} from "./golden-content.ts";

/** Image used when the controller is started without `--image-name`. */
export const DEFAULT_IMAGE = "volpop/populator-csi-fastpath:latest";

/** Where golden content is on the nodes, unless `--golden-host-dir` says otherwise. */
export const DEFAULT_GOLDEN_HOST_DIR = "/var/lib/volpop-fastpath/golden";

/** Where the populator pod sees the golden directory (mounted read-only). */
export const GOLDEN_MOUNT_PATH = "/golden";

const OPERATION_ID_ENV = "VOLPOP_OPERATION_ID";

export interface GoldenContentPopulatorOptions {
  /** The node directory holding golden content, mounted into populator pods. */
  readonly goldenHostDir: string;
}

/**
 * The GoldenContent populator. With the fast path, the controller asks the node's backend to copy;
 * this is what runs otherwise (another CSI driver, no backend on the volume's node, Pod fallback): a
 * pod of this same image in populate mode, copying from the golden directory mounted read-only.
 *
 * A hostPath volume in the pod means the populator namespace must allow Pod Security `privileged`.
 */
export function goldenContentPopulator(options: GoldenContentPopulatorOptions): Populator<GoldenContentSpec> {
  return {
    prefix: GOLDEN_CONTENT_GROUP,
    source: {
      group: GOLDEN_CONTENT_GROUP,
      version: GOLDEN_CONTENT_VERSION,
      kind: GOLDEN_CONTENT_KIND,
      plural: GOLDEN_CONTENT_PLURAL,
    },
    validate: checkGoldenContentSpec,
    populatorPod(_source, context) {
      return {
        image: context.imageName ?? DEFAULT_IMAGE,
        args: [
          "--mode=populate",
          `--golden-dir=${GOLDEN_MOUNT_PATH}`,
          // Kubernetes expands $(VAR) in args: the user PVC's uid, the fast path's operation id too,
          // so a pod finishing a volume the backend started recognises the backend's marker.
          `--operation-id=$(${OPERATION_ID_ENV})`,
        ],
        env: [
          {
            name: OPERATION_ID_ENV,
            valueFrom: { fieldRef: { fieldPath: `metadata.labels['${POPULATE_FOR_LABEL}']` } },
          },
        ],
        volumes: [{ name: "golden", hostPath: { path: options.goldenHostDir, type: "Directory" } }],
        volumeMounts: [{ name: "golden", mountPath: GOLDEN_MOUNT_PATH, readOnly: true }],
      };
    },
  };
}
