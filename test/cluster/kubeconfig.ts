import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { layout, network, ports } from "./config.ts";
import { clientCertificates, pkiFile } from "./pki.ts";

export const apiserverUrl = `https://${network.nodeIP}:${ports.apiserver}`;

export function kubeconfigPath(identity: keyof typeof clientCertificates): string {
  return identity === "admin"
    ? layout.adminKubeconfig
    : path.join(layout.kubeconfigs, `${clientCertificates[identity].name}.kubeconfig`);
}

/** Writes one kubeconfig per client identity, with certificates embedded so the files can be copied anywhere. */
export function writeKubeconfigs(): void {
  fs.mkdirSync(layout.kubeconfigs, { recursive: true, mode: 0o700 });
  const ca = fs.readFileSync(pkiFile.caCert).toString("base64");
  for (const [identity, spec] of Object.entries(clientCertificates)) {
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
    fs.writeFileSync(kubeconfigPath(identity as keyof typeof clientCertificates), YAML.stringify(config), {
      mode: 0o600,
    });
  }
}
