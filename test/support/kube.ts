import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import * as k8s from "@kubernetes/client-node";

/**
 * Small helpers for driving a real cluster the way a user would (namespaces, PVCs, Jobs), shared by
 * the e2e tier and the demo.
 */

/** API clients for the cluster a kubeconfig file points at. */
export function kubeFromFile(kubeconfigPath: string) {
  const config = new k8s.KubeConfig();
  config.loadFromFile(kubeconfigPath);
  return {
    config,
    core: config.makeApiClient(k8s.CoreV1Api),
    batch: config.makeApiClient(k8s.BatchV1Api),
    storage: config.makeApiClient(k8s.StorageV1Api),
  };
}

export type Kube = ReturnType<typeof kubeFromFile>;

/** Settings that let the e2e tier run on any cluster; defaults fit the embedded one. */
export const e2eSettings = {
  immediateStorageClass: process.env.VOLPOP_E2E_STORAGE_CLASS ?? "volpop-immediate",
  waitForFirstConsumerStorageClass: process.env.VOLPOP_E2E_WFFC_STORAGE_CLASS ?? "volpop-wffc",
  busyboxImage: process.env.VOLPOP_E2E_BUSYBOX_IMAGE ?? "busybox",
};

/** Polls `check` until it returns a value other than undefined; fails naming `what` on timeout. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 120_000,
  intervalMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(intervalMs);
  }
  throw new Error(
    `timed out after ${timeoutMs / 1000}s waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ""}`,
  );
}

/** A namespace of its own for one suite, labelled for the `baseline` Pod Security level. */
export async function createTestNamespace(api: Kube, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString("hex")}`;
  await api.core.createNamespace({
    body: {
      metadata: {
        name,
        labels: { "volpop.dev/e2e": "true", "pod-security.kubernetes.io/enforce": "baseline" },
      },
    },
  });
  await waitFor(`the default ServiceAccount in ${name}`, async () =>
    (await api.core.readNamespacedServiceAccount({ name: "default", namespace: name }).catch(() => undefined))
      ? true
      : undefined,
  );
  return name;
}

export async function deleteNamespace(api: Kube, name: string): Promise<void> {
  await api.core.deleteNamespace({ name }).catch(() => undefined);
}

/**
 * Waits until the namespace is gone: the namespace controller has deleted everything in it (its
 * clean-up lists and deletes every kind, traffic a measurement that follows must not count).
 */
export async function waitForNamespaceGone(api: Kube, name: string, timeoutMs = 120_000): Promise<void> {
  await waitFor(
    `namespace ${name} to be deleted`,
    () =>
      api.core.readNamespace({ name }).then(
        () => undefined,
        (error: { code?: number }) => {
          if (error.code === 404) return true;
          throw error;
        },
      ),
    timeoutMs,
  );
}

export interface PvcOptions {
  readonly storageClassName: string;
  readonly volumeMode: "Filesystem" | "Block";
  readonly size?: string;
  readonly dataSourceRef?: k8s.V1TypedObjectReference;
}

export async function createPvc(
  api: Kube,
  namespace: string,
  name: string,
  options: PvcOptions,
): Promise<k8s.V1PersistentVolumeClaim> {
  return api.core.createNamespacedPersistentVolumeClaim({
    namespace,
    body: {
      metadata: { name },
      spec: {
        accessModes: ["ReadWriteOnce"],
        resources: { requests: { storage: options.size ?? "16Mi" } },
        storageClassName: options.storageClassName,
        volumeMode: options.volumeMode,
        ...(options.dataSourceRef ? { dataSourceRef: options.dataSourceRef } : {}),
      },
    },
  });
}

export interface JobOptions {
  readonly script: string;
  readonly pvc?: { readonly claimName: string; readonly volumeMode: "Filesystem" | "Block" };
  /** Run as root: needed to open a raw block device, which the kubelet does not chown. */
  readonly root?: boolean;
  /** Where the Job's pod may run (e.g. `kubernetes.io/hostname`). */
  readonly nodeSelector?: Readonly<Record<string, string>>;
  /** How long the Job may take, waiting for its PVC included (default 120 s). */
  readonly timeoutMs?: number;
}

/** Mount path (Filesystem) or device path (Block) of the PVC inside `runJob`'s container. */
export const JOB_MOUNT_PATH = "/data";
export const JOB_DEVICE_PATH = "/dev/xvda";

/** Runs a busybox Job to completion and returns its pod's log; fails with that log if the Job fails. */
export async function runJob(
  api: Kube,
  namespace: string,
  name: string,
  options: JobOptions,
): Promise<string> {
  const pvc = options.pvc;
  await api.batch.createNamespacedJob({
    namespace,
    body: {
      metadata: { name },
      spec: {
        backoffLimit: 0,
        template: {
          spec: {
            restartPolicy: "Never",
            ...(options.nodeSelector ? { nodeSelector: { ...options.nodeSelector } } : {}),
            securityContext: options.root
              ? { seccompProfile: { type: "RuntimeDefault" } }
              : {
                  runAsNonRoot: true,
                  runAsUser: 1000,
                  runAsGroup: 1000,
                  fsGroup: 1000,
                  seccompProfile: { type: "RuntimeDefault" },
                },
            containers: [
              {
                name: "main",
                image: e2eSettings.busyboxImage,
                imagePullPolicy: "IfNotPresent",
                command: ["sh", "-c", options.script],
                securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
                ...(pvc?.volumeMode === "Filesystem"
                  ? { volumeMounts: [{ name: "data", mountPath: JOB_MOUNT_PATH }] }
                  : {}),
                ...(pvc?.volumeMode === "Block"
                  ? { volumeDevices: [{ name: "data", devicePath: JOB_DEVICE_PATH }] }
                  : {}),
              },
            ],
            ...(pvc
              ? { volumes: [{ name: "data", persistentVolumeClaim: { claimName: pvc.claimName } }] }
              : {}),
          },
        },
      },
    },
  });
  const outcome = await waitFor(
    `Job ${namespace}/${name} to finish`,
    async () => {
      const job = await api.batch.readNamespacedJob({ name, namespace });
      const done = job.status?.conditions?.find(
        (c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True",
      );
      return done?.type;
    },
    options.timeoutMs,
  );
  const pods = await api.core.listNamespacedPod({ namespace, labelSelector: `job-name=${name}` });
  const pod = pods.items[0]?.metadata?.name;
  const log = pod ? await api.core.readNamespacedPodLog({ name: pod, namespace }) : "(no pod)";
  if (outcome !== "Complete") throw new Error(`Job ${namespace}/${name} failed; its log:\n${log}`);
  return log;
}

/**
 * Which of the named reads found their object: what is still there. A read the API server answers
 * 404 counts as gone; any other failure is thrown, for `waitFor` to try again.
 */
export async function stillThere(reads: Readonly<Record<string, Promise<unknown>>>): Promise<string[]> {
  const found = await Promise.all(
    Object.entries(reads).map(([what, read]) =>
      read.then(
        () => what,
        (error: { code?: number }) => {
          if (error.code === 404) return "";
          throw error;
        },
      ),
    ),
  );
  return found.filter(Boolean);
}

/** Events recorded on an object, oldest first. */
export async function eventsFor(api: Kube, namespace: string, name: string): Promise<k8s.CoreV1Event[]> {
  const list = await api.core.listNamespacedEvent({
    namespace,
    fieldSelector: `involvedObject.name=${name}`,
  });
  return list.items.sort((a, b) =>
    String(a.metadata?.creationTimestamp).localeCompare(String(b.metadata?.creationTimestamp)),
  );
}

/**
 * Waits for a PVC to be Bound and its population to be over, and returns it. The PV controller binds
 * the PVC as soon as the populator hands over the PV; the populator finishes after that (Finished
 * event, progress "complete", temporaries deleted, its finalizer released last), so a test that reads
 * those right after "Bound" would race it.
 */
export function waitForBound(
  api: Kube,
  namespace: string,
  name: string,
  timeoutMs = 180_000,
): Promise<k8s.V1PersistentVolumeClaim> {
  return waitFor(
    `PVC ${namespace}/${name} to bind`,
    async () => {
      const pvc = await api.core.readNamespacedPersistentVolumeClaim({ name, namespace });
      const populating = pvc.metadata?.finalizers?.some((f) => f.endsWith("/populate-target-protection"));
      return pvc.status?.phase === "Bound" && !populating ? pvc : undefined;
    },
    timeoutMs,
  );
}
