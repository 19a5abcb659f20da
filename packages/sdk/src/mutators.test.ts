import type { V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { EventReason } from "./events.ts";
import {
  fakePopulator,
  fillInput,
  ourPvc,
  POPULATOR_NAMESPACE,
  PREFIX,
  primePvc,
} from "./internal/fixtures.ts";
import { applyMutator, primePvcProblems } from "./mutators.ts";
import type { Populator } from "./populator.ts";
import { primePvcFor } from "./reconcile.ts";
import { podStrategy } from "./strategies/pod/strategy.ts";
import type { FillInput } from "./strategy.ts";

/** The first populator container of a pod, to change in place. */
const main = (pod: V1Pod) => {
  const container = pod.spec?.containers[0];
  if (!container) throw new Error("no container");
  return container;
};

/** What the Pod strategy plans for a bound PVC' with no pod yet, with this populator. */
function planWith(extra: Partial<Populator<unknown>>): { created?: V1Pod; warnings: string[] } {
  const input: FillInput = fillInput({
    populator: { ...fakePopulator(), ...extra } as Populator<never>,
    observed: { pvc: ourPvc(), primePvc: primePvc({ status: { phase: "Bound" } }) },
  });
  const outcome = podStrategy.fill(input);
  if (outcome.state !== "working") throw new Error("expected work");
  const created = outcome.plan.steps.find((s) => s.kind === "createPod");
  return {
    ...(created?.kind === "createPod" ? { created: created.pod } : {}),
    warnings: outcome.plan.steps.flatMap((s) =>
      s.kind === "event" && s.type === "Warning" && s.reason === EventReason.CreationError ? [s.message] : [],
    ),
  };
}

describe("mutatePod", () => {
  it("adjusts the pod the SDK built: its result is what gets created", () => {
    const { created, warnings } = planWith({
      mutatePod: (pod) => {
        pod.metadata = { ...pod.metadata, labels: { ...pod.metadata?.labels, team: "storage" } };
        main(pod).env = [{ name: "HTTPS_PROXY", value: "http://proxy:3128" }];
        if (pod.spec) pod.spec.dnsPolicy = "None";
        return pod;
      },
    });
    expect(warnings).toEqual([]);
    expect(created?.metadata?.labels?.team).toBe("storage");
    expect(created?.spec?.dnsPolicy).toBe("None");
    expect(created && main(created).env).toEqual([{ name: "HTTPS_PROXY", value: "http://proxy:3128" }]);
  });

  it("gets the population it is for: the user's PVC and the validated source", () => {
    const seen: unknown[] = [];
    planWith({
      mutatePod: (pod, context) => {
        seen.push(context.pvc.metadata?.name, context.source.name);
        return pod;
      },
    });
    expect(seen).toEqual(["data", "hello"]);
  });

  // Each row weakens one part of the hardening: refused, and the event names it.
  it.each<[string, (pod: V1Pod) => void, string]>([
    ["privileged", (p) => Object.assign(main(p).securityContext ?? {}, { privileged: true }), "privileged"],
    [
      "privilege escalation allowed",
      (p) => Object.assign(main(p).securityContext ?? {}, { allowPrivilegeEscalation: true }),
      "allowPrivilegeEscalation not false",
    ],
    [
      "capabilities kept",
      (p) => Object.assign(main(p).securityContext ?? {}, { capabilities: { drop: [] } }),
      "capabilities not dropped",
    ],
    [
      "a capability added",
      (p) =>
        Object.assign(main(p).securityContext ?? {}, { capabilities: { drop: ["ALL"], add: ["SYS_ADMIN"] } }),
      "added capability SYS_ADMIN",
    ],
    [
      "a writable root filesystem",
      (p) => Object.assign(main(p).securityContext ?? {}, { readOnlyRootFilesystem: false }),
      "root filesystem not read-only",
    ],
    ["the host network", (p) => Object.assign(p.spec ?? {}, { hostNetwork: true }), "set spec.hostNetwork"],
    ["the host PID namespace", (p) => Object.assign(p.spec ?? {}, { hostPID: true }), "set spec.hostPID"],
    [
      "a hostPath volume",
      (p) => p.spec?.volumes?.push({ name: "root", hostPath: { path: "/" } }),
      "added hostPath volume root",
    ],
    [
      "root for the pod",
      (p) => Object.assign(p.spec?.securityContext ?? {}, { runAsUser: 0, runAsNonRoot: false }),
      "dropped runAsNonRoot",
    ],
    [
      "root for the container",
      (p) => Object.assign(main(p).securityContext ?? {}, { runAsUser: 0 }),
      "runs as root",
    ],
    [
      "no seccomp profile",
      (p) => Object.assign(p.spec?.securityContext ?? {}, { seccompProfile: { type: "Unconfined" } }),
      "dropped the seccomp profile",
    ],
    [
      "the API token mounted",
      (p) => Object.assign(p.spec ?? {}, { automountServiceAccountToken: true }),
      "turned the service account token back on",
    ],
    [
      "another service account through the deprecated field",
      (p) => Object.assign(p.spec ?? {}, { serviceAccount: "populator-controller" }),
      "changed spec.serviceAccount",
    ],
    [
      "an API token in a projected volume",
      (p) =>
        p.spec?.volumes?.push({
          name: "token",
          projected: { sources: [{ serviceAccountToken: { path: "token" } }] },
        }),
      "added a service account token in volume token",
    ],
    [
      "an unconfined container seccomp profile",
      (p) => Object.assign(main(p).securityContext ?? {}, { seccompProfile: { type: "Unconfined" } }),
      "seccomp profile Unconfined",
    ],
    [
      "an unconfined AppArmor profile",
      (p) => Object.assign(p.spec?.securityContext ?? {}, { appArmorProfile: { type: "Unconfined" } }),
      "set an Unconfined AppArmor profile",
    ],
    [
      "the super-privileged SELinux type",
      (p) => Object.assign(main(p).securityContext ?? {}, { seLinuxOptions: { type: "spc_t" } }),
      "SELinux type spc_t",
    ],
    [
      "an unmasked /proc",
      (p) => Object.assign(main(p).securityContext ?? {}, { procMount: "Unmasked" }),
      "procMount Unmasked",
    ],
    [
      "a host port",
      (p) => Object.assign(main(p), { ports: [{ containerPort: 80, hostPort: 80 }] }),
      "hostPort 80",
    ],
    [
      "a sidecar without hardening",
      (p) => p.spec?.containers.push({ name: "sidecar", image: "busybox" }),
      "container sidecar: allowPrivilegeEscalation not false",
    ],
  ])("refuses a pod with %s", (_, weaken, named) => {
    const { created, warnings } = planWith({
      mutatePod: (pod) => {
        weaken(pod);
        return pod;
      },
    });
    expect(created).toBeUndefined();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(named);
  });

  it("judges against what was built: a host path the populator's own pod spec declares stays allowed", () => {
    const populator = fakePopulator({
      pod: {
        volumes: [{ name: "golden", hostPath: { path: "/srv/golden" } }],
        volumeMounts: [{ name: "golden", mountPath: "/golden", readOnly: true }],
      },
    });
    const { created, warnings } = planWith({ ...populator, mutatePod: (pod) => pod });
    expect(warnings).toEqual([]);
    expect(created?.spec?.volumes?.map((v) => v.name)).toContain("golden");
  });

  it("lets the populator weaken the hardening when it opts out explicitly", () => {
    const { created, warnings } = planWith({
      allowWeakerPodSecurity: true,
      mutatePod: (pod) => {
        Object.assign(main(pod).securityContext ?? {}, { privileged: true });
        return pod;
      },
    });
    expect(warnings).toEqual([]);
    expect(created && main(created).securityContext?.privileged).toBe(true);
  });

  // Even with the opt-out: the controller would never find, count or clean up such a pod.
  it.each<[string, (pod: V1Pod) => void, string]>([
    ["renamed", (p) => Object.assign(p.metadata ?? {}, { name: "mine" }), "changed metadata.name"],
    ["moved", (p) => Object.assign(p.metadata ?? {}, { namespace: "default" }), "changed metadata.namespace"],
    [
      "unlabelled",
      (p) => Object.assign(p.metadata ?? {}, { labels: {} }),
      "changed label app.kubernetes.io/managed-by",
    ],
    ["without its container", (p) => p.spec?.containers.splice(0), "removed the populate container"],
    [
      "writing to another claim",
      (p) => Object.assign(p.spec?.volumes?.[0] ?? {}, { persistentVolumeClaim: { claimName: "other" } }),
      "changed the target volume (PVC')",
    ],
  ])("refuses a pod %s, opt-out or not", (_, change, named) => {
    for (const allowWeakerPodSecurity of [false, true]) {
      const { created, warnings } = planWith({
        allowWeakerPodSecurity,
        mutatePod: (pod) => {
          change(pod);
          return pod;
        },
      });
      expect(created).toBeUndefined();
      expect(warnings[0]).toContain(named);
    }
  });

  it("reports a mutator that throws instead of failing the reconcile", () => {
    const { created, warnings } = planWith({
      mutatePod: () => {
        throw new Error("no proxy configured");
      },
    });
    expect(created).toBeUndefined();
    expect(warnings[0]).toContain("the mutator threw: no proxy configured");
  });
});

describe("applyMutator", () => {
  it("hands the mutator a copy, so a refused mutation leaves the built object untouched", () => {
    const built = primePvcFor(ourPvc(), POPULATOR_NAMESPACE, undefined, PREFIX);
    const before = structuredClone(built);
    const result = applyMutator(
      built,
      (pvc: V1PersistentVolumeClaim) => {
        if (pvc.spec) pvc.spec.storageClassName = "elsewhere";
        return pvc;
      },
      primePvcProblems,
    );
    expect(result).toEqual({ ok: false, problems: ["changed spec storageClassName"] });
    expect(built).toEqual(before);
  });
});

describe("primePvcProblems", () => {
  const built = primePvcFor(ourPvc(), POPULATOR_NAMESPACE, "node-a", PREFIX);

  it("allows labels, annotations and a data source of the populator's own", () => {
    const mutated = structuredClone(built);
    mutated.metadata = { ...mutated.metadata, labels: { ...mutated.metadata?.labels, backup: "skip" } };
    if (mutated.spec)
      mutated.spec.dataSourceRef = {
        apiGroup: "snapshot.storage.k8s.io",
        kind: "VolumeSnapshot",
        name: "golden",
      };
    expect(primePvcProblems(built, mutated)).toEqual([]);
  });

  it.each<[string, (pvc: V1PersistentVolumeClaim) => void, string]>([
    [
      "a bigger size",
      (p) => Object.assign(p.spec?.resources ?? {}, { requests: { storage: "2Gi" } }),
      "changed spec storage",
    ],
    [
      "another access mode",
      (p) => Object.assign(p.spec ?? {}, { accessModes: ["ReadWriteMany"] }),
      "changed spec accessModes",
    ],
    [
      "Block instead of Filesystem",
      (p) => Object.assign(p.spec ?? {}, { volumeMode: "Block" }),
      "changed spec volumeMode",
    ],
    [
      "another node",
      (p) => Object.assign(p.metadata ?? {}, { annotations: {} }),
      "changed annotation volume.kubernetes.io/selected-node",
    ],
    ["another name", (p) => Object.assign(p.metadata ?? {}, { name: "prime-x" }), "changed metadata.name"],
    [
      "a PV named in advance",
      (p) => Object.assign(p.spec ?? {}, { volumeName: "someone-elses-pv" }),
      "changed spec volumeName",
    ],
    [
      "a PV selector",
      (p) => Object.assign(p.spec ?? {}, { selector: { matchLabels: { owner: "other" } } }),
      "changed spec selector",
    ],
  ])("refuses %s: the PV would not fit the user's PVC", (_, change, named) => {
    const mutated = structuredClone(built);
    change(mutated);
    expect(primePvcProblems(built, mutated)).toContain(named);
  });
});
