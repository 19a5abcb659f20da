import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  createPvc,
  createTestNamespace,
  deleteNamespace,
  e2eSettings,
  JOB_DEVICE_PATH,
  JOB_MOUNT_PATH,
  type Kube,
  kube,
  runJob,
  waitFor,
} from "./support/kube.ts";

/** What every later suite relies on: a Ready node, CSI-provisioned volumes of both modes, pod networking. */
describe("the cluster", () => {
  let api: Kube;
  let namespace: string;

  beforeAll(async () => {
    api = kube();
    namespace = await createTestNamespace(api, "smoke");
  });
  afterAll(async () => {
    if (namespace) await deleteNamespace(api, namespace);
  });

  it("has a Ready node", async () => {
    const nodes = await api.core.listNode();
    const ready = nodes.items.filter((n) =>
      n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
    );
    expect(ready.length).toBeGreaterThan(0);
  });

  const cases = [
    { storageClass: e2eSettings.immediateStorageClass, volumeMode: "Filesystem" },
    { storageClass: e2eSettings.immediateStorageClass, volumeMode: "Block" },
    { storageClass: e2eSettings.waitForFirstConsumerStorageClass, volumeMode: "Filesystem" },
    { storageClass: e2eSettings.waitForFirstConsumerStorageClass, volumeMode: "Block" },
  ] as const;

  it.each(cases)(
    "provisions a $volumeMode volume on $storageClass that keeps data between pods",
    async ({ storageClass, volumeMode }) => {
      const name =
        `${volumeMode === "Block" ? "blk" : "fs"}-${storageClass.endsWith("wffc") ? "wffc" : "imm"}`.toLowerCase();
      await createPvc(api, namespace, name, { storageClassName: storageClass, volumeMode });
      const payload = `volpop smoke ${name} ${Date.now()}`;
      const pvc = { claimName: name, volumeMode };
      const write =
        volumeMode === "Filesystem"
          ? `echo "${payload}" > ${JOB_MOUNT_PATH}/smoke.txt`
          : `echo "${payload}" | dd of=${JOB_DEVICE_PATH} bs=512 count=1 conv=sync,notrunc 2>/dev/null`;
      const read =
        volumeMode === "Filesystem"
          ? `cat ${JOB_MOUNT_PATH}/smoke.txt`
          : `dd if=${JOB_DEVICE_PATH} bs=512 count=1 2>/dev/null | tr -d '\\000'`;
      await runJob(api, namespace, `${name}-write`, { script: write, pvc, root: volumeMode === "Block" });
      const log = await runJob(api, namespace, `${name}-read`, {
        script: read,
        pvc,
        root: volumeMode === "Block",
      });
      expect(log.trim()).toBe(payload);

      const bound = await api.core.readNamespacedPersistentVolumeClaim({ name, namespace });
      expect(bound.status?.phase).toBe("Bound");
      const pv = await api.core.readPersistentVolume({ name: bound.spec?.volumeName ?? "" });
      expect(pv.spec?.volumeMode).toBe(volumeMode);
      // Provisioned by a CSI driver (the hostpath driver on the embedded cluster).
      expect(pv.spec?.csi?.driver).toBeTruthy();
      if (inject("embeddedCluster")) expect(pv.spec?.csi?.driver).toBe("hostpath.csi.k8s.io");
    },
  );

  it("lets a pod reach the API server through the kubernetes Service", async () => {
    const service = await api.core.readNamespacedService({ name: "kubernetes", namespace: "default" });
    const log = await runJob(api, namespace, "api-reach", {
      // busybox's TLS client offers no signature_algorithms, which Go 1.25+ servers (Kubernetes
      // 1.37) refuse; a plain HTTP request to the TLS port still proves the Service reaches a Go
      // HTTPS server (the API server answers it with its well-known 400), on any cluster.
      script:
        // biome-ignore lint/suspicious/noTemplateCurlyInString: shell variables, expanded in the pod
        'printf "GET /version HTTP/1.0\\r\\n\\r\\n" | nc -w 10 "${KUBERNETES_SERVICE_HOST}" "${KUBERNETES_SERVICE_PORT}" && echo "via ${KUBERNETES_SERVICE_HOST}"',
    });
    expect(log).toContain("Client sent an HTTP request to an HTTPS server");
    expect(log).toContain(`via ${service.spec?.clusterIP}`);
  });

  it("deletes a volume's PV once its claim is gone", async () => {
    await createPvc(api, namespace, "short-lived", {
      storageClassName: e2eSettings.immediateStorageClass,
      volumeMode: "Filesystem",
    });
    const volumeName = await waitFor("the claim to bind", async () => {
      const pvc = await api.core.readNamespacedPersistentVolumeClaim({ name: "short-lived", namespace });
      const bound = pvc.status?.phase === "Bound" ? pvc.spec?.volumeName : undefined;
      return bound === undefined ? undefined : String(bound);
    });
    await api.core.deleteNamespacedPersistentVolumeClaim({ name: "short-lived", namespace });
    await waitFor(
      `PV ${volumeName} to be deleted`,
      async () =>
        await api.core.readPersistentVolume({ name: volumeName }).then(
          () => undefined,
          () => true,
        ),
    );
  });
});
