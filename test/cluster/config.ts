import os from "node:os";
import path from "node:path";

/**
 * Everything the embedded cluster pins or places: versions (which key the build cache), folders,
 * addresses and ports. One object so that `up`, `down` and the tests agree.
 */

const repoRoot = path.resolve(import.meta.dirname, "../..");

/**
 * Kubernetes releases the cluster can run, newest first. Each pins the components that release
 * supports; its recipe is `go/kubernetes-<minor>` (written by `go/new-kubernetes-recipe.sh`).
 */
export const kubernetesReleases = {
  "v1.37": { kubernetes: "v1.37.2", etcd: "v3.7.3" },
  /** The oldest minor upstream still supports: `VOLPOP_KUBERNETES_VERSION=1.35 ./scripts/test`. */
  "v1.35": { kubernetes: "v1.35.4", etcd: "v3.6.16" },
} as const;

export type KubernetesRelease = (typeof kubernetesReleases)[keyof typeof kubernetesReleases];

/**
 * The release `VOLPOP_KUBERNETES_VERSION` names (`1.35`, `v1.35.4`), or the newest. A version without
 * a recipe is refused with the list of those that have one, rather than built half-way.
 */
export function selectKubernetesRelease(requested: string | undefined): KubernetesRelease {
  const newest = Object.values(kubernetesReleases)[0] as KubernetesRelease;
  if (requested === undefined || requested.trim() === "") return newest;
  const wanted = requested.trim().startsWith("v") ? requested.trim() : `v${requested.trim()}`;
  const release = Object.values(kubernetesReleases).find(
    (r) => r.kubernetes === wanted || r.kubernetes.startsWith(`${wanted}.`),
  );
  if (release === undefined) {
    const known = Object.values(kubernetesReleases)
      .map((r) => r.kubernetes)
      .join(", ");
    throw new Error(
      `VOLPOP_KUBERNETES_VERSION=${requested}: no build recipe for it; supported: ${known} ` +
        "(add one with test/cluster/go/new-kubernetes-recipe.sh)",
    );
  }
  return release;
}

const release = selectKubernetesRelease(process.env.VOLPOP_KUBERNETES_VERSION);

/** Pinned versions; each keys a cache folder `<cache>/<component>-<version>`. */
export const versions = {
  kubernetes: release.kubernetes,
  etcd: release.etcd,
  csiProvisioner: "v6.4.0",
  crictl: "v1.34.0",
  /** Kubernetes 1.37's kubelet refuses containerd 1.x (Debian's is 1.6), so containerd is built too. */
  containerd: "v2.4.2",
  /** Our own pod sandbox program (test/cluster/go/pause); bump when its source changes. */
  pause: "1",
  /** Not part of the cluster: the Helm the chart tests lint, render and install with (charts/). */
  helm: "v4.3.2",
} as const;

export const cacheDir = process.env.VOLPOP_CACHE ?? path.join(os.homedir(), ".cache", "volpop");
/** Where a running cluster keeps its state; wiped by `down`. */
export const clusterDir = process.env.VOLPOP_CLUSTER_DIR ?? "/var/lib/volpop/cluster";
/** Sockets and pid files. */
export const runDir = process.env.VOLPOP_RUN_DIR ?? "/run/volpop";

export const layout = {
  repoRoot,
  clusterSource: path.join(repoRoot, "test", "cluster"),
  bin: (component: keyof typeof versions, name: string) =>
    path.join(cacheDir, `${cacheName(component)}-${versions[component]}`, "bin", name),
  images: path.join(cacheDir, "images"),
  pki: path.join(clusterDir, "pki"),
  kubeconfigs: path.join(clusterDir, "kubeconfig"),
  adminKubeconfig: path.join(clusterDir, "kubeconfig", "admin.kubeconfig"),
  logs: path.join(clusterDir, "logs"),
  etcdData: path.join(clusterDir, "etcd"),
  containerdRoot: path.join(clusterDir, "containerd"),
  containerdState: path.join(runDir, "containerd"),
  containerdSocket: path.join(runDir, "containerd", "containerd.sock"),
  containerdConfig: path.join(clusterDir, "containerd.toml"),
  cniConfDir: path.join(clusterDir, "cni", "net.d"),
  cniIpamDir: path.join(clusterDir, "cni", "ipam"),
  kubeletRoot: path.join(clusterDir, "kubelet"),
  kubeletConfig: path.join(clusterDir, "kubelet-config.yaml"),
  kubeProxyConfig: path.join(clusterDir, "kube-proxy-config.yaml"),
  csiStateDir: path.join(clusterDir, "csi-hostpath"),
  registryData: path.join(clusterDir, "registry"),
  registryConfig: path.join(clusterDir, "registry.yaml"),
  containerdHosts: path.join(clusterDir, "containerd-hosts"),
  pids: path.join(runDir, "pids"),
  /** Network namespaces containerd creates for pods. */
  netns: "/run/netns",
} as const;

export function cacheName(component: keyof typeof versions): string {
  return component === "csiProvisioner" ? "csi-provisioner" : component;
}

export const network = {
  nodeName: "volpop-node",
  /** Holds the node's address (see network.ts). */
  nodeInterface: "volpop0",
  nodeIP: "10.254.254.1",
  /** Where further nodes get their addresses (`10.254.254.<n>`), on the same bridge. */
  nodeSubnet: "10.254.254.0/24",
  bridge: "volpop-br0",
  podCIDR: "10.88.0.0/16",
  serviceCIDR: "10.96.0.0/16",
  /** First address of the service range: the `kubernetes` Service. */
  apiServiceIP: "10.96.0.1",
} as const;

export const ports = {
  etcdClient: 23790,
  etcdPeer: 23800,
  apiserver: 6443,
  controllerManager: 10257,
  scheduler: 10259,
  kubelet: 10250,
  kubeletHealthz: 10248,
  kubeProxyMetrics: 10249,
  kubeProxyHealthz: 10256,
  registry: 5000,
} as const;

export const csi = {
  driverName: "hostpath.csi.k8s.io",
  topologyKey: "topology.hostpath.csi/node",
  socket: path.join(clusterDir, "kubelet", "plugins", "hostpath.csi.k8s.io", "csi.sock"),
  registrationDir: path.join(clusterDir, "kubelet", "plugins_registry"),
} as const;

/** The local registry (Debian's docker-registry) on loopback; containerd also uses it as docker.io's mirror. */
export const registry = `localhost:${ports.registry}`;

export const images = {
  pause: `${registry}/volpop/pause:${versions.pause}`,
  /** Pushed as library/busybox so that a plain `image: busybox` resolves through the docker.io mirror. */
  busybox: `${registry}/library/busybox:latest`,
} as const;

export const storageClasses = {
  immediate: "volpop-immediate",
  waitForFirstConsumer: "volpop-wffc",
} as const;
