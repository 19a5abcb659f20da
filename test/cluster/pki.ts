import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { layout, network } from "./config.ts";
import { run } from "./exec.ts";

/** A client or serving certificate signed by the cluster CA. */
export interface CertificateSpec {
  readonly name: string;
  readonly commonName: string;
  readonly organization?: string;
  readonly serverNames?: { dns: readonly string[]; ips: readonly string[] };
}

/** Client identities, as Kubernetes' RBAC defaults expect them. */
export const clientCertificates = {
  admin: { name: "admin", commonName: "volpop-admin", organization: "system:masters" },
  controllerManager: { name: "controller-manager", commonName: "system:kube-controller-manager" },
  scheduler: { name: "scheduler", commonName: "system:kube-scheduler" },
  kubelet: { name: "kubelet", commonName: `system:node:${network.nodeName}`, organization: "system:nodes" },
  kubeProxy: { name: "kube-proxy", commonName: "system:kube-proxy" },
  apiserverKubeletClient: {
    name: "apiserver-kubelet-client",
    commonName: "kube-apiserver-kubelet-client",
    organization: "system:masters",
  },
} as const satisfies Record<string, CertificateSpec>;

/** The kubelet's client identity on a further node: the Node authorizer knows nodes by it. */
export function nodeKubeletCertificate(nodeName: string): CertificateSpec {
  return { name: `kubelet-${nodeName}`, commonName: `system:node:${nodeName}`, organization: "system:nodes" };
}

const apiserverServing: CertificateSpec = {
  name: "apiserver",
  commonName: "kube-apiserver",
  serverNames: {
    dns: [
      "kubernetes",
      "kubernetes.default",
      "kubernetes.default.svc",
      "kubernetes.default.svc.cluster.local",
      "localhost",
    ],
    ips: ["127.0.0.1", network.nodeIP, network.apiServiceIP],
  },
};

export const pkiFile = {
  caCert: path.join(layout.pki, "ca.crt"),
  caKey: path.join(layout.pki, "ca.key"),
  serviceAccountKey: path.join(layout.pki, "sa.key"),
  serviceAccountPub: path.join(layout.pki, "sa.pub"),
  cert: (name: string) => path.join(layout.pki, `${name}.crt`),
  key: (name: string) => path.join(layout.pki, `${name}.key`),
};

const DAYS = "365";

/**
 * Creates the CA, every certificate and the service-account key pair, unless they exist; and a kubelet
 * identity for each further node named in `extraNodes`.
 */
export async function ensurePki(extraNodes: readonly string[] = []): Promise<void> {
  fs.mkdirSync(layout.pki, { recursive: true, mode: 0o700 });
  if (!fs.existsSync(pkiFile.caCert)) {
    await run("openssl", [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      pkiFile.caKey,
      "-out",
      pkiFile.caCert,
      "-days",
      DAYS,
      "-subj",
      "/CN=volpop-cluster-ca",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ]);
  }
  for (const spec of [
    apiserverServing,
    ...Object.values(clientCertificates),
    ...extraNodes.map(nodeKubeletCertificate),
  ]) {
    if (!fs.existsSync(pkiFile.cert(spec.name))) await issue(spec);
  }
  if (!fs.existsSync(pkiFile.serviceAccountKey)) {
    await run("openssl", [
      "genpkey",
      "-algorithm",
      "RSA",
      "-pkeyopt",
      "rsa_keygen_bits:2048",
      "-out",
      pkiFile.serviceAccountKey,
    ]);
    await run("openssl", [
      "pkey",
      "-in",
      pkiFile.serviceAccountKey,
      "-pubout",
      "-out",
      pkiFile.serviceAccountPub,
    ]);
  }
}

async function issue(spec: CertificateSpec): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "volpop-pki-"));
  try {
    const csr = path.join(work, "csr");
    const subject = `/CN=${spec.commonName}${spec.organization ? `/O=${spec.organization}` : ""}`;
    await run("openssl", [
      "req",
      "-new",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      pkiFile.key(spec.name),
      "-out",
      csr,
      "-subj",
      subject,
    ]);
    const extensions = [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      `extendedKeyUsage=${spec.serverNames ? "serverAuth,clientAuth" : "clientAuth"}`,
    ];
    if (spec.serverNames) {
      const names = [
        ...spec.serverNames.dns.map((d) => `DNS:${d}`),
        ...spec.serverNames.ips.map((i) => `IP:${i}`),
      ];
      extensions.push(`subjectAltName=${names.join(",")}`);
    }
    const extFile = path.join(work, "ext");
    fs.writeFileSync(extFile, `${extensions.join("\n")}\n`);
    await run("openssl", [
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      pkiFile.caCert,
      "-CAkey",
      pkiFile.caKey,
      "-CAcreateserial",
      "-out",
      pkiFile.cert(spec.name),
      "-days",
      DAYS,
      "-extfile",
      extFile,
    ]);
    fs.chmodSync(pkiFile.key(spec.name), 0o600);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
