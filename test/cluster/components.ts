import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { clusterDir, csi, images, layout, network, ports, registry } from "./config.ts";
import { kubeconfigPath } from "./kubeconfig.ts";
import { pkiFile } from "./pki.ts";
import { httpOk, socketAccepts } from "./probes.ts";
import type { ProcessSpec } from "./processes.ts";

/**
 * The command line and readiness probe of every host process of the cluster, in the spirit of
 * Kubernetes' hack/local-up-cluster.sh: one real binary each, talking over loopback or the node address.
 */

const k8s = (name: string) => layout.bin("kubernetes", name);
const node24 = process.execPath;

export function etcd(): ProcessSpec {
  const client = `http://127.0.0.1:${ports.etcdClient}`;
  const peer = `http://127.0.0.1:${ports.etcdPeer}`;
  return {
    name: "etcd",
    command: layout.bin("etcd", "etcd"),
    args: [
      "--name=volpop",
      `--data-dir=${layout.etcdData}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=volpop=${peer}`,
      // A throwaway test cluster: durability is not worth the fsync latency.
      "--unsafe-no-fsync",
      "--log-level=warn",
    ],
    ready: () => httpOk(`${client}/health`),
  };
}

export function apiserver(): ProcessSpec {
  return {
    name: "kube-apiserver",
    command: k8s("kube-apiserver"),
    args: [
      `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
      `--bind-address=${network.nodeIP}`,
      `--advertise-address=${network.nodeIP}`,
      `--secure-port=${ports.apiserver}`,
      `--tls-cert-file=${pkiFile.cert("apiserver")}`,
      `--tls-private-key-file=${pkiFile.key("apiserver")}`,
      `--client-ca-file=${pkiFile.caCert}`,
      `--kubelet-client-certificate=${pkiFile.cert("apiserver-kubelet-client")}`,
      `--kubelet-client-key=${pkiFile.key("apiserver-kubelet-client")}`,
      "--kubelet-preferred-address-types=InternalIP",
      "--authorization-mode=Node,RBAC",
      "--enable-admission-plugins=NodeRestriction,PodSecurity",
      `--service-cluster-ip-range=${network.serviceCIDR}`,
      `--service-account-key-file=${pkiFile.serviceAccountPub}`,
      `--service-account-signing-key-file=${pkiFile.serviceAccountKey}`,
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      "--allow-privileged=true",
      // Lets PVCs name a data source in another namespace (alpha in 1.34), which populators support.
      "--feature-gates=CrossNamespaceVolumeDataSource=true",
      "--profiling=false",
      "--v=1",
    ],
    ready: () => httpOk(`https://${network.nodeIP}:${ports.apiserver}/readyz`),
    readyTimeoutMs: 120_000,
  };
}

export function controllerManager(): ProcessSpec {
  const kubeconfig = kubeconfigPath("controllerManager");
  return {
    name: "kube-controller-manager",
    command: k8s("kube-controller-manager"),
    args: [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      "--bind-address=127.0.0.1",
      `--secure-port=${ports.controllerManager}`,
      "--use-service-account-credentials=true",
      `--service-account-private-key-file=${pkiFile.serviceAccountKey}`,
      `--root-ca-file=${pkiFile.caCert}`,
      `--cluster-signing-cert-file=${pkiFile.caCert}`,
      `--cluster-signing-key-file=${pkiFile.caKey}`,
      "--controllers=*",
      "--leader-elect=false",
      "--v=1",
    ],
    ready: () => httpOk(`https://127.0.0.1:${ports.controllerManager}/healthz`),
  };
}

export function scheduler(): ProcessSpec {
  const kubeconfig = kubeconfigPath("scheduler");
  return {
    name: "kube-scheduler",
    command: k8s("kube-scheduler"),
    args: [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      "--bind-address=127.0.0.1",
      `--secure-port=${ports.scheduler}`,
      "--leader-elect=false",
      "--v=1",
    ],
    ready: () => httpOk(`https://127.0.0.1:${ports.scheduler}/healthz`),
  };
}

/** Debian's docker-registry (CNCF distribution) on loopback: the cluster's only image source. */
export function imageRegistry(): ProcessSpec {
  return {
    name: "registry",
    prepare: () => {
      fs.mkdirSync(layout.registryData, { recursive: true });
      const config = {
        version: 0.1,
        log: { level: "warn" },
        storage: { filesystem: { rootdirectory: layout.registryData }, delete: { enabled: true } },
        http: { addr: `127.0.0.1:${ports.registry}` },
      };
      fs.writeFileSync(layout.registryConfig, YAML.stringify(config));
    },
    command: "docker-registry",
    args: ["serve", layout.registryConfig],
    ready: () => httpOk(`http://127.0.0.1:${ports.registry}/v2/`),
  };
}

export function containerd(): ProcessSpec {
  return {
    name: "containerd",
    prepare: writeContainerdConfig,
    command: layout.bin("containerd", "containerd"),
    args: ["--config", layout.containerdConfig],
    // containerd finds its runc shim on PATH: ours (v2), not a Debian containerd 1.x's.
    env: {
      ...process.env,
      PATH: `${path.dirname(layout.bin("containerd", "containerd"))}:${process.env.PATH ?? ""}`,
    },
    ready: () => socketAccepts(layout.containerdSocket),
  };
}

function writeContainerdConfig(): void {
  // Pulls of docker.io images (`image: busybox`) and of our own are served by the local registry.
  const mirrors: Record<string, string> = {
    "docker.io": `[host."http://127.0.0.1:${ports.registry}"]\n  capabilities = ["pull", "resolve"]\n`,
    [registry]: `server = "http://127.0.0.1:${ports.registry}"\n`,
  };
  for (const [host, toml] of Object.entries(mirrors)) {
    fs.mkdirSync(path.join(layout.containerdHosts, host), { recursive: true });
    fs.writeFileSync(path.join(layout.containerdHosts, host, "hosts.toml"), toml);
  }
  fs.mkdirSync(layout.cniConfDir, { recursive: true });
  fs.writeFileSync(
    path.join(layout.cniConfDir, "10-volpop.conflist"),
    JSON.stringify(
      {
        cniVersion: "1.0.0",
        name: "volpop",
        plugins: [
          {
            type: "bridge",
            bridge: network.bridge,
            isGateway: true,
            ipMasq: false,
            hairpinMode: true,
            ipam: {
              type: "host-local",
              ranges: [[{ subnet: network.podCIDR }]],
              routes: [{ dst: "0.0.0.0/0" }],
              dataDir: layout.cniIpamDir,
            },
          },
          { type: "loopback" },
        ],
      },
      null,
      2,
    ),
  );
  // containerd v2's own config schema (version 3): image settings and runtime settings are
  // separate CRI plugins; the streaming server stays with the grpc CRI plugin.
  const toml = `version = 3
root = ${JSON.stringify(layout.containerdRoot)}
state = ${JSON.stringify(layout.containerdState)}

[grpc]
  address = ${JSON.stringify(layout.containerdSocket)}

[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = ${JSON.stringify(images.pause)}
  [plugins."io.containerd.cri.v1.images".registry]
    config_path = ${JSON.stringify(layout.containerdHosts)}

[plugins."io.containerd.cri.v1.runtime"]
  # Sandboxed machines may deny CAP_SYS_RESOURCE, without which runc cannot lower a container's OOM
  # score below containerd's own (the kubelet asks -998 for pause containers).
  restrict_oom_score_adj = ${!hasCapability(CAP_SYS_RESOURCE)}
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = [${JSON.stringify(cniBinDir())}]
    conf_dir = ${JSON.stringify(layout.cniConfDir)}
`;
  fs.writeFileSync(layout.containerdConfig, toml);
}

const CAP_SYS_RESOURCE = 24;

function hasCapability(bit: number): boolean {
  const line = fs.readFileSync("/proc/self/status", "utf8").match(/^CapEff:\s*([0-9a-f]+)$/m);
  return line?.[1] !== undefined && ((BigInt(`0x${line[1]}`) >> BigInt(bit)) & 1n) === 1n;
}

/** Debian installs the CNI plugins under /usr/lib/cni; other installs use /opt/cni/bin. */
function cniBinDir(): string {
  for (const dir of ["/usr/lib/cni", "/opt/cni/bin"]) {
    if (fs.existsSync(path.join(dir, "bridge"))) return dir;
  }
  throw new Error(
    "no CNI plugins found in /usr/lib/cni or /opt/cni/bin (Debian package containernetworking-plugins)",
  );
}

export function csiDriver(): ProcessSpec {
  return {
    name: "csi-hostpath",
    command: node24,
    args: [
      path.join(layout.clusterSource, "csi-hostpath", "main.ts"),
      `--endpoint=${csi.socket}`,
      `--drivername=${csi.driverName}`,
      `--nodeid=${network.nodeName}`,
      `--statedir=${layout.csiStateDir}`,
      `--registration-dir=${csi.registrationDir}`,
    ],
    ready: () => socketAccepts(csi.socket),
  };
}

export function csiProvisioner(): ProcessSpec {
  return {
    name: "csi-provisioner",
    command: layout.bin("csiProvisioner", "csi-provisioner"),
    args: [
      `--csi-address=${csi.socket}`,
      `--kubeconfig=${kubeconfigPath("admin")}`,
      "--extra-create-metadata",
      "--leader-election=false",
      "--feature-gates=Topology=true",
      "--v=2",
    ],
    // The provisioner serves nothing of its own; it is ready once it runs and the driver answers.
    ready: () => socketAccepts(csi.socket),
  };
}

export function kubelet(cgroupV1: boolean): ProcessSpec {
  return {
    name: "kubelet",
    prepare: () => writeKubeletConfig(cgroupV1),
    command: k8s("kubelet"),
    args: [
      `--config=${layout.kubeletConfig}`,
      `--kubeconfig=${kubeconfigPath("kubelet")}`,
      `--root-dir=${layout.kubeletRoot}`,
      `--hostname-override=${network.nodeName}`,
      `--node-ip=${network.nodeIP}`,
      "--v=1",
    ],
    ready: () => httpOk(`http://127.0.0.1:${ports.kubeletHealthz}/healthz`),
    readyTimeoutMs: 120_000,
  };
}

function writeKubeletConfig(cgroupV1: boolean): void {
  const config = {
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    address: network.nodeIP,
    port: ports.kubelet,
    healthzBindAddress: "127.0.0.1",
    healthzPort: ports.kubeletHealthz,
    readOnlyPort: 0,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: pkiFile.caCert },
    },
    authorization: { mode: "Webhook" },
    cgroupDriver: "cgroupfs",
    containerRuntimeEndpoint: `unix://${layout.containerdSocket}`,
    failSwapOn: false,
    // Kubelet 1.35+ refuses cgroup v1 unless told otherwise; these machines may still have it.
    ...(cgroupV1 ? { failCgroupV1: false } : {}),
    resolvConf: "/etc/resolv.conf",
    clusterDomain: "cluster.local",
    serializeImagePulls: false,
    // Small test disks must not trigger evictions or image garbage collection.
    evictionHard: {
      "memory.available": "100Mi",
      "nodefs.available": "1%",
      "imagefs.available": "1%",
      "nodefs.inodesFree": "1%",
    },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    volumePluginDir: path.join(clusterDir, "kubelet-volume-plugins"),
    syncFrequency: "10s",
    fileCheckFrequency: "10s",
  };
  fs.writeFileSync(layout.kubeletConfig, YAML.stringify(config));
}

export function kubeProxy(): ProcessSpec {
  return {
    name: "kube-proxy",
    prepare: writeKubeProxyConfig,
    command: k8s("kube-proxy"),
    args: [`--config=${layout.kubeProxyConfig}`, "--v=1"],
    ready: () => httpOk(`http://127.0.0.1:${ports.kubeProxyHealthz}/healthz`),
  };
}

function writeKubeProxyConfig(): void {
  const config = {
    apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
    kind: "KubeProxyConfiguration",
    clientConnection: { kubeconfig: kubeconfigPath("kubeProxy") },
    hostnameOverride: network.nodeName,
    bindAddress: network.nodeIP,
    clusterCIDR: network.podCIDR,
    mode: "iptables",
    // Inside a VM the conntrack table size cannot be set; leave it alone.
    conntrack: { maxPerCore: 0 },
    iptables: { localhostNodePorts: false },
    nodePortAddresses: [`${network.nodeIP}/32`],
    metricsBindAddress: `127.0.0.1:${ports.kubeProxyMetrics}`,
    healthzBindAddress: `127.0.0.1:${ports.kubeProxyHealthz}`,
  };
  fs.writeFileSync(layout.kubeProxyConfig, YAML.stringify(config));
}
