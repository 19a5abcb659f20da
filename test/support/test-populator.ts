import { ApiextensionsV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { Populator, SourceCheck } from "@volpop/sdk";
import { waitFor } from "./kube.ts";

/**
 * A small populator for the SDK's e2e tests: `TestSource` objects name a file and its contents, and a
 * busybox pod writes them (or fails on purpose, or dawdles, to exercise retries and deletion).
 */
export const TEST_GROUP = "e2e.volpop.dev";

export interface TestSourceSpec {
  readonly fileName: string;
  readonly contents: string;
  /** Exit code of the populator pod instead of writing (tests failures). */
  readonly failWith?: number;
  /** Seconds the pod sleeps before writing (tests deletion and restarts mid-population). */
  readonly sleepSeconds?: number;
  /** Report 50% progress before sleeping, the way the SDK's populate mode does. */
  readonly reportProgress?: boolean;
  /** Also write this many MiB of zeros after the contents (tests volumes too small for the data). */
  readonly extraMiB?: number;
  /** The populator pod's image instead of busybox (tests images that cannot be pulled). */
  readonly image?: string;
  /** The populator pod's node selector (tests pods that cannot be scheduled). */
  readonly nodeSelector?: Readonly<Record<string, string>>;
  /** A Secret whose `value` the pod takes as env (tests containers that cannot be created, when it is missing). */
  readonly envFromSecret?: string;
  /** The populator container's memory limit (and request), e.g. `32Mi`. */
  readonly memoryLimit?: string;
  /** Hold this many MiB in memory before writing: over `memoryLimit`, the pod is OOM-killed. */
  readonly allocateMiB?: number;
}

/**
 * The test populator. `group`: the API group of its `TestSource` kind, and its prefix; another than
 * {@link TEST_GROUP} gives a populator of its own, which a suite can run beside the usual one (its CRD
 * installed with `installTestSourceCrd(kubeConfig, group)`).
 */
export function testPopulator(
  image = process.env.VOLPOP_E2E_BUSYBOX_IMAGE ?? "busybox",
  group = TEST_GROUP,
): Populator<TestSourceSpec> {
  return {
    prefix: group,
    source: { group, version: "v1alpha1", kind: "TestSource", plural: "testsources" },
    validate(spec: unknown): SourceCheck<TestSourceSpec> {
      const s = (spec ?? {}) as Record<string, unknown>;
      const problems: string[] = [];
      if (
        typeof s.fileName !== "string" ||
        !/^[A-Za-z0-9._-]+$/.test(s.fileName) ||
        s.fileName.startsWith(".")
      ) {
        problems.push("spec.fileName must be a plain file name");
      }
      if (typeof s.contents !== "string") problems.push("spec.contents is required");
      if (problems.length > 0) return { ok: false, problems };
      return { ok: true, spec: s as unknown as TestSourceSpec };
    },
    populatorPod(source, context) {
      const {
        fileName,
        contents,
        failWith,
        sleepSeconds,
        reportProgress,
        extraMiB,
        allocateMiB,
        memoryLimit,
      } = source.spec;
      const write =
        context.volumeMode === "Block"
          ? `printf '%s' "$CONTENTS" | dd of=${context.targetPath} conv=notrunc 2>/dev/null`
          : `printf '%s' "$CONTENTS" > "${context.targetPath}/$FILE_NAME"`;
      const script = [
        reportProgress ? `echo 'volpop-progress {"percent":50,"message":"halfway"}'` : "",
        sleepSeconds ? `sleep ${sleepSeconds}` : "",
        allocateMiB ? holdMemory(allocateMiB) : "",
        failWith ? `echo "populator failing on purpose with ${failWith}" >&2; exit ${failWith}` : write,
        extraMiB
          ? `dd if=/dev/zero of=${context.volumeMode === "Block" ? context.targetPath : `${context.targetPath}/padding`} bs=1M count=${extraMiB} seek=1 conv=notrunc`
          : "",
      ]
        .filter(Boolean)
        .join("; ");
      return {
        image: source.spec.image ?? image,
        ...(source.spec.nodeSelector ? { nodeSelector: source.spec.nodeSelector } : {}),
        ...(memoryLimit
          ? { resources: { limits: { memory: memoryLimit }, requests: { memory: memoryLimit } } }
          : {}),
        command: ["sh", "-c", script],
        env: [
          { name: "FILE_NAME", value: fileName },
          { name: "CONTENTS", value: contents },
          ...(source.spec.envFromSecret
            ? [
                {
                  name: "FROM_SECRET",
                  valueFrom: { secretKeyRef: { name: source.spec.envFromSecret, key: "value" } },
                },
              ]
            : []),
        ],
      };
    },
  };
}

/**
 * Shell that really holds `mib` MiB: busybox `tail` keeps everything since the last newline of its
 * input, and /dev/zero has none (128 MiB through it peaked at 129 MiB in its memory cgroup). Over
 * the container's limit, the kernel kills it. On cgroup v1 the OOM killer takes the largest process,
 * `tail` (then the shell too, if memory is still short), and the shell exits with tail's status, 137;
 * on cgroup v2 the kubelet sets memory.oom.group, so the whole container goes, with 137 too. Either
 * way the container runtime saw an OOM kill in the container's cgroup and reports the reason
 * OOMKilled. A node that lets containers swap could swap the zeros out instead: this assumes none
 * does (the kubelet's default on cgroup v2 is NoSwap; the machine this was measured on had no swap).
 */
function holdMemory(mib: number): string {
  return `echo "allocating ${mib} MiB"; head -c ${mib}m /dev/zero | tail > /dev/null || exit $?`;
}

/** Installs the TestSource CRD of `group` (idempotent) and waits until the API serves it. */
export function installTestSourceCrd(kubeConfig: KubeConfig, group = TEST_GROUP): Promise<void> {
  return installSchemalessCrd(kubeConfig, {
    group,
    version: "v1alpha1",
    kind: "TestSource",
    plural: "testsources",
  });
}

/** A minimal gateway-api ReferenceGrant CRD (v1beta1), for clusters that lack it; idempotent. */
export function installReferenceGrantCrd(kubeConfig: KubeConfig): Promise<void> {
  return installSchemalessCrd(kubeConfig, {
    group: "gateway.networking.k8s.io",
    version: "v1beta1",
    kind: "ReferenceGrant",
    plural: "referencegrants",
    // *.k8s.io groups are protected; this minimal stand-in for gateway-api's CRD says what it is.
    annotations: {
      "api-approved.kubernetes.io": "unapproved, volpop e2e stand-in for gateway-api's ReferenceGrant",
    },
  });
}

/** What {@link installSchemalessCrd} installs. */
export interface SchemalessCrd {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly annotations?: Record<string, string>;
}

/**
 * A namespaced CRD whose `spec` takes anything (tests validate in code), idempotent; waits until it
 * is served.
 */
export async function installSchemalessCrd(kubeConfig: KubeConfig, crd: SchemalessCrd): Promise<void> {
  const api = kubeConfig.makeApiClient(ApiextensionsV1Api);
  const name = `${crd.plural}.${crd.group}`;
  await api
    .createCustomResourceDefinition({
      body: {
        metadata: { name, ...(crd.annotations ? { annotations: crd.annotations } : {}) },
        spec: {
          group: crd.group,
          names: {
            kind: crd.kind,
            plural: crd.plural,
            singular: crd.kind.toLowerCase(),
            listKind: `${crd.kind}List`,
          },
          scope: "Namespaced",
          versions: [
            {
              name: crd.version,
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: {
                  type: "object",
                  properties: { spec: { type: "object", x_kubernetes_preserve_unknown_fields: true } },
                },
              },
            },
          ],
        },
      },
    })
    .catch((error: { code?: number }) => {
      if (error.code !== 409) throw error;
    });
  await waitFor(`CRD ${name} to be established`, async () => {
    const established = await api.readCustomResourceDefinition({ name });
    return established.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")
      ? true
      : undefined;
  });
}
