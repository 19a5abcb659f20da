/**
 * Whether the API server keeps a PVC's `dataSourceRef` to a custom kind: the AnyVolumeDataSource
 * feature, alpha (off) before Kubernetes 1.24, beta and on by default from 1.24, GA (always on) from
 * 1.33. Without it the API server silently drops the field and the PVC is provisioned empty. Pure.
 */
import { type Finding, FindingCode, finding } from "./findings.ts";
import type { ServerFacts } from "./snapshot.ts";

export type FeatureState = "enabled" | "disabled" | "unknown";

/**
 * AnyVolumeDataSource on `server`. `inUse`: a PVC of the cluster has a `dataSourceRef` to a custom
 * kind, which the API server keeps only with the feature on.
 */
export function anyVolumeDataSource(
  server: ServerFacts,
  inUse: boolean,
): { readonly state: FeatureState; readonly basis: string } {
  if (server.major > 1 || server.minor >= 33) {
    return {
      state: "enabled",
      basis: `GA since Kubernetes 1.33, always on (the server is ${server.version})`,
    };
  }
  if (inUse) {
    return {
      state: "enabled",
      basis:
        "PVCs of the cluster keep a dataSourceRef to a custom kind, which the API server allows only with it on",
    };
  }
  if (server.minor >= 24) {
    return {
      state: "unknown",
      basis: `beta in ${server.version}: on by default, unless the API server runs with --feature-gates=AnyVolumeDataSource=false`,
    };
  }
  return {
    state: "disabled",
    basis: `alpha in ${server.version}: off unless the API server runs with --feature-gates=AnyVolumeDataSource=true`,
  };
}

/** Whether a PVC's missing `dataSourceRef` may have been dropped by the API server. */
export function serverSupportsDataSourceRef(server: ServerFacts): boolean {
  return anyVolumeDataSource(server, false).state !== "disabled";
}

/** The finding `doctor cluster` reports on AnyVolumeDataSource. */
export function anyVolumeDataSourceFinding(server: ServerFacts, inUse: boolean): Finding {
  const { state, basis } = anyVolumeDataSource(server, inUse);
  if (state === "enabled") {
    return finding("ok", FindingCode.AnyVolumeDataSourceEnabled, {
      what: "The API server keeps PVCs' dataSourceRef to custom kinds (AnyVolumeDataSource)",
      why: basis,
    });
  }
  if (state === "unknown") {
    return finding("info", FindingCode.AnyVolumeDataSourceUnknown, {
      what: "AnyVolumeDataSource is most likely on",
      why: `It is ${basis}. No PVC of the cluster shows it yet.`,
      fix: "Create a PVC with a dataSourceRef and check that kubectl get pvc -o yaml still shows it.",
    });
  }
  return finding("error", FindingCode.AnyVolumeDataSourceDisabled, {
    what: "The API server drops PVCs' dataSourceRef to custom kinds: populators cannot work",
    why: `AnyVolumeDataSource is ${basis}. PVCs are then provisioned empty.`,
    fix: "Upgrade Kubernetes to 1.24 or later (1.33 or later has it always on), or turn the feature gate on in the API server and kube-controller-manager.",
  });
}
