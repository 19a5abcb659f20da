import fs from "node:fs/promises";
import https from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";
import { parse } from "yaml";
import { waitFor } from "./kube.ts";

/**
 * Applies a CRD manifest file as it is written, then waits until it is served. Sent as raw JSON:
 * client-node's typed serializer silently drops schema keys it spells differently
 * (`x-kubernetes-validations`, `x-kubernetes-int-or-string`), which would install a weaker CRD than
 * users get from `kubectl apply`.
 */
export async function applyCrdFile(kubeConfig: KubeConfig, file: string): Promise<void> {
  const crd = parse(await fs.readFile(file, "utf8")) as { metadata: { name: string } };
  const base = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
  const created = await request(kubeConfig, "POST", base, crd);
  if (created.status === 409) {
    const current = await request(kubeConfig, "GET", `${base}/${crd.metadata.name}`);
    const resourceVersion = (JSON.parse(current.body) as { metadata: { resourceVersion: string } }).metadata
      .resourceVersion;
    const replaced = await request(kubeConfig, "PUT", `${base}/${crd.metadata.name}`, {
      ...crd,
      metadata: { ...crd.metadata, resourceVersion },
    });
    if (replaced.status >= 300) throw new Error(`replacing CRD ${crd.metadata.name}: ${replaced.body}`);
  } else if (created.status >= 300) {
    throw new Error(`creating CRD ${crd.metadata.name}: ${created.body}`);
  }
  await waitFor(`CRD ${crd.metadata.name} to be established`, async () => {
    const current = JSON.parse((await request(kubeConfig, "GET", `${base}/${crd.metadata.name}`)).body) as {
      status?: { conditions?: { type: string; status: string }[] };
    };
    return current.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")
      ? true
      : undefined;
  });
}

async function request(
  kubeConfig: KubeConfig,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: string }> {
  const server = new URL(kubeConfig.getCurrentCluster()?.server ?? "");
  const options: https.RequestOptions = {
    host: server.hostname,
    port: server.port,
    path,
    method,
    headers: { "content-type": "application/json", accept: "application/json" },
  };
  await kubeConfig.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const req = https.request(options, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        text += chunk;
      });
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}
