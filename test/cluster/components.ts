import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { csi, images, layout, network, ports, registry } from "./config.ts";
import { kubeconfigPath, kubeletKubeconfigPath } from "./kubeconfig.ts";
import { type ClusterNode, clusterNode, processName, registryForNodes } from "./nodes.ts";
import { pkiFile } from "./pki.ts";
import { httpOk, portOpen, socketAccepts } from "./probes.ts";
import type { ProcessSpec } from "./processes.ts";

/**
 * The command line and readiness probe of every host process of the cluster, in the spirit of
 * Kubernetes' hack/local-up-cluster.sh: one real binary each, talking over loopback or the node address.
 */

const k8s = (name: string) => layout.bin("kubernetes", name);
const node24 = process.execPath;
const firstNode = clusterNode(1);

/**
 * A node's process runs in the node's network namespace (nsenter joins only that one: the mount
 * namespace stays the machine's, so containerd, the kubelet and the CSI driver see each other's mounts).
 */
function onNode(
  node: ClusterNode,
  command: string,
  args: readonly string[],
): { command: string; args: string[] } {
  if (node.netns === undefined) return { command, args: [...args] };
  return { command: "nsenter", args: [`--net=/run/netns/${node.netns}`, "--", command, ...args] };
}

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

/**
 * The registry for nodes 2 and later, whose loopback is their own: a TCP relay on the node address to
 * the registry on loopback (which keeps listening there only, for the pushes from this machine).
 */
export function registryRelay(): ProcessSpec {
  return {
    name: "registry-relay",
    command: node24,
    args: [
      path.join(layout.clusterSource, "registry-relay.ts"),
      `--listen=${registryForNodes}`,
      `--to=127.0.0.1:${ports.registry}`,
    ],
    ready: () => portOpen(network.nodeIP, ports.registry),
  };
}

export function containerd(node: ClusterNode = firstNode): ProcessSpec {
  const { command, args } = onNode(node, layout.bin("containerd", "containerd"), [
    "--config",
    node.containerdConfig,
  ]);
  return {
    name: processName("containerd", node),
    prepare: () => writeContainerdConfig(node),
    command,
    args,
    // containerd finds its runc shim on PATH: ours (v2), not a Debian containerd 1.x's.
    env: {
      ...process.env,
      PATH: `${path.dirname(layout.bin("containerd", "containerd"))}:${process.env.PATH ?? ""}`,
    },
    ready: () => socketAccepts(node.containerdSocket),
  };
}

function writeContainerdConfig(node: ClusterNode): void {
  // Pulls of docker.io images (`image: busybox`) and of our own are served by the local registry.
  const registryAddress = node.netns === undefined ? `127.0.0.1:${ports.registry}` : registryForNodes;
  const mirrors: Record<string, string> = {
    "docker.io": `[host."http://${registryAddress}"]\n  capabilities = ["pull", "resolve"]\n`,
    [registry]: `server = "http://${registryAddress}"\n`,
  };
  for (const [host, toml] of Object.entries(mirrors)) {
    fs.mkdirSync(path.join(node.containerdHosts, host), { recursive: true });
    fs.writeFileSync(path.join(node.containerdHosts, host, "hosts.toml"), toml);
  }
  fs.mkdirSync(node.cniConfDir, { recursive: true });
  fs.writeFileSync(
    path.join(node.cniConfDir, "10-volpop.conflist"),
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
              ranges: [[{ subnet: node.podSubnet }]],
              routes: [{ dst: "0.0.0.0/0" }],
              dataDir: node.cniIpamDir,
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
root = ${JSON.stringify(node.containerdRoot)}
state = ${JSON.stringify(node.containerdState)}

[grpc]
  address = ${JSON.stringify(node.containerdSocket)}
${
  node.netns === undefined
    ? ""
    : `
# NRI's socket is one per machine (/var/run/nri/nri.sock): the first node's containerd has it.
[plugins."io.containerd.nri.v1.nri"]
  disable = true
`
}
[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = ${JSON.stringify(images.pause)}
  [plugins."io.containerd.cri.v1.images".registry]
    config_path = ${JSON.stringify(node.containerdHosts)}

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
    conf_dir = ${JSON.stringify(node.cniConfDir)}
`;
  fs.writeFileSync(node.containerdConfig, toml);
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

export function csiDriver(node: ClusterNode = firstNode): ProcessSpec {
  return {
    name: processName("csi-hostpath", node),
    command: node24,
    args: [
      path.join(layout.clusterSource, "csi-hostpath", "main.ts"),
      `--endpoint=${node.csiSocket}`,
      `--drivername=${csi.driverName}`,
      `--nodeid=${node.name}`,
      `--zone=${node.zone}`,
      `--statedir=${node.csiStateDir}`,
      `--registration-dir=${node.csiRegistrationDir}`,
    ],
    ready: () => socketAccepts(node.csiSocket),
  };
}

/**
 * One provisioner for a single node (it asks the only driver for every volume). With several nodes the
 * volumes are node-local, so each node runs its own, as for real local storage: in node-deployment
 * mode it provisions only for claims whose selected node is its own, takes part in the race for
 * claims with immediate binding, and publishes its node's CSIStorageCapacity.
 */
export function csiProvisioner(node: ClusterNode = firstNode, nodeLocal = false): ProcessSpec {
  const common = [
    `--csi-address=${node.csiSocket}`,
    `--kubeconfig=${kubeconfigPath("admin")}`,
    "--extra-create-metadata",
    "--leader-election=false",
    "--feature-gates=Topology=true",
    "--v=2",
  ];
  const nodeDeployment = [
    "--node-deployment=true",
    // Upstream's 20 s suits real fleets; every populator PVC' of ours would wait that long.
    "--node-deployment-base-delay=500ms",
    "--node-deployment-max-delay=5s",
    "--enable-capacity",
    "--capacity-ownerref-level=-1",
    "--capacity-poll-interval=15s",
  ];
  return {
    name: processName("csi-provisioner", node),
    // external-provisioner exits whenever it loses its driver's socket (a driver restart), counting on
    // its kubelet to restart the sidecar; here a shell loop is that kubelet. Stopping the process group
    // stops both.
    command: "sh",
    args: [
      "-c",
      'while :; do "$0" "$@"; echo "csi-provisioner exited ($?); restarting it in 1 s" >&2; sleep 1; done',
      layout.bin("csiProvisioner", "csi-provisioner"),
      ...(nodeLocal ? [...common, ...nodeDeployment] : common),
    ],
    ...(nodeLocal ? { env: { ...process.env, NODE_NAME: node.name, NAMESPACE: "kube-system" } } : {}),
    // The provisioner serves nothing of its own; it is ready once it runs and the driver answers.
    ready: () => socketAccepts(node.csiSocket),
  };
}

export function kubelet(cgroupV1: boolean, node: ClusterNode = firstNode): ProcessSpec {
  const { command, args } = onNode(node, k8s("kubelet"), [
    `--config=${node.kubeletConfig}`,
    `--kubeconfig=${kubeletKubeconfigPath(node.name)}`,
    `--root-dir=${node.kubeletRoot}`,
    // Its self-signed serving certificate: the default folder is one per machine (/var/lib/kubelet/pki),
    // where kubelets starting side by side would write each other's key and certificate.
    `--cert-dir=${path.join(node.kubeletRoot, "pki")}`,
    `--hostname-override=${node.name}`,
    `--node-ip=${node.ip}`,
    `--node-labels=topology.kubernetes.io/zone=${node.zone}`,
    "--v=1",
  ]);
  return {
    name: processName("kubelet", node),
    prepare: () => writeKubeletConfig(cgroupV1, node),
    command,
    args,
    ready: () => httpOk(`http://${node.healthAddress}:${ports.kubeletHealthz}/healthz`),
    readyTimeoutMs: 120_000,
  };
}

function writeKubeletConfig(cgroupV1: boolean, node: ClusterNode): void {
  const config = {
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    address: node.ip,
    port: ports.kubelet,
    healthzBindAddress: node.healthAddress,
    healthzPort: ports.kubeletHealthz,
    readOnlyPort: 0,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: pkiFile.caCert },
    },
    authorization: { mode: "Webhook" },
    cgroupDriver: "cgroupfs",
    ...(node.cgroupRoot === undefined ? {} : { cgroupRoot: node.cgroupRoot }),
    ...(node.podLogsDir === undefined ? {} : { podLogsDir: node.podLogsDir }),
    containerRuntimeEndpoint: `unix://${node.containerdSocket}`,
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
    volumePluginDir: node.kubeletVolumePlugins,
    syncFrequency: "10s",
    fileCheckFrequency: "10s",
  };
  fs.mkdirSync(path.dirname(node.kubeletConfig), { recursive: true });
  fs.writeFileSync(node.kubeletConfig, YAML.stringify(config));
}

export function kubeProxy(node: ClusterNode = firstNode): ProcessSpec {
  const { command, args } = onNode(node, k8s("kube-proxy"), [`--config=${node.kubeProxyConfig}`, "--v=1"]);
  return {
    name: processName("kube-proxy", node),
    prepare: () => writeKubeProxyConfig(node),
    command,
    args,
    ready: () => httpOk(`http://${node.healthAddress}:${ports.kubeProxyHealthz}/healthz`),
  };
}

function writeKubeProxyConfig(node: ClusterNode): void {
  const config = {
    apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
    kind: "KubeProxyConfiguration",
    clientConnection: { kubeconfig: kubeconfigPath("kubeProxy") },
    hostnameOverride: node.name,
    bindAddress: node.ip,
    clusterCIDR: network.podCIDR,
    mode: "iptables",
    // Inside a VM the conntrack table size cannot be set; leave it alone.
    conntrack: { maxPerCore: 0 },
    iptables: { localhostNodePorts: false },
    nodePortAddresses: [`${node.ip}/32`],
    metricsBindAddress: `127.0.0.1:${ports.kubeProxyMetrics}`,
    healthzBindAddress: `${node.healthAddress}:${ports.kubeProxyHealthz}`,
  };
  fs.mkdirSync(path.dirname(node.kubeProxyConfig), { recursive: true });
  fs.writeFileSync(node.kubeProxyConfig, YAML.stringify(config));
}
