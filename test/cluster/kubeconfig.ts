import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { layout, network, ports } from "./config.ts";
import { type CertificateSpec, clientCertificates, nodeKubeletCertificate, pkiFile } from "./pki.ts";

export const apiserverUrl = `https://${network.nodeIP}:${ports.apiserver}`;

export function kubeconfigPath(identity: keyof typeof clientCertificates): string {
  return identity === "admin"
    ? layout.adminKubeconfig
    : path.join(layout.kubeconfigs, `${clientCertificates[identity].name}.kubeconfig`);
}

/** The kubeconfig of a node's kubelet: node 1's is the `kubelet` identity's, the others' their own. */
export function kubeletKubeconfigPath(nodeName: string): string {
  return nodeName === network.nodeName
    ? kubeconfigPath("kubelet")
    : path.join(layout.kubeconfigs, `${nodeKubeletCertificate(nodeName).name}.kubeconfig`);
}

/**
 * Writes one kubeconfig per client identity (and per further node's kubelet), with certificates
 * embedded so the files can be copied anywhere.
 */
export function writeKubeconfigs(extraNodes: readonly string[] = []): void {
  fs.mkdirSync(layout.kubeconfigs, { recursive: true, mode: 0o700 });
  const ca = fs.readFileSync(pkiFile.caCert).toString("base64");
  const files: [string, CertificateSpec][] = [
    ...Object.entries(clientCertificates).map(
      ([identity, spec]) =>
        [kubeconfigPath(identity as keyof typeof clientCertificates), spec] as [string, CertificateSpec],
    ),
    ...extraNodes.map(
      (name) => [kubeletKubeconfigPath(name), nodeKubeletCertificate(name)] as [string, CertificateSpec],
    ),
  ];
  for (const [file, spec] of files) {
    const config = {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "volpop", cluster: { server: apiserverUrl, "certificate-authority-data": ca } }],
      users: [
        {
          name: spec.name,
          user: {
            "client-certificate-data": fs.readFileSync(pkiFile.cert(spec.name)).toString("base64"),
            "client-key-data": fs.readFileSync(pkiFile.key(spec.name)).toString("base64"),
          },
        },
      ],
      contexts: [{ name: "volpop", context: { cluster: "volpop", user: spec.name } }],
      "current-context": "volpop",
    };
    fs.writeFileSync(file, YAML.stringify(config), {
      mode: 0o600,
    });
  }
}
