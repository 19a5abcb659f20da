import https from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";

/** The API server's `/metrics` text. */
export async function apiserverMetrics(kubeConfig: KubeConfig): Promise<string> {
  const server = new URL(kubeConfig.getCurrentCluster()?.server ?? "");
  const options: https.RequestOptions = {
    host: server.hostname,
    port: server.port,
    path: "/metrics",
    method: "GET",
  };
  await kubeConfig.applyToHTTPSOptions(options);
  return new Promise<string>((resolve, reject) => {
    const request = https.request(options, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        text += chunk;
      });
      response.on("end", () =>
        response.statusCode === 200
          ? resolve(text)
          : reject(new Error(`GET /metrics: ${response.statusCode} ${text.slice(0, 200)}`)),
      );
    });
    request.on("error", reject);
    request.end();
  });
}

/**
 * Requests served so far by verb and resource (`PATCH persistentvolumeclaims`,
 * `GET pods/log`), summed over codes and scopes, from `apiserver_request_total`. Watches count
 * once, when they open.
 */
export function requestCounts(metrics: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of metrics.split("\n")) {
    if (!line.startsWith("apiserver_request_total{")) continue;
    const labels = Object.fromEntries(
      [...line.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]] as const),
    );
    const resource = labels.subresource ? `${labels.resource}/${labels.subresource}` : labels.resource;
    const key = `${labels.verb} ${resource || "(none)"}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(line.split(" ").pop()));
  }
  return counts;
}

/** `after − before` for every key, dropping zeros. */
export function countsDelta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const delta = new Map<string, number>();
  for (const [key, value] of after) {
    const change = value - (before.get(key) ?? 0);
    if (change !== 0) delta.set(key, change);
  }
  return delta;
}

export function total(counts: Map<string, number>): number {
  let sum = 0;
  for (const value of counts.values()) sum += value;
  return sum;
}

/**
 * Watches the API server holds open, by `resource/scope` (`pods/namespace`,
 * `persistentvolumeclaims/cluster`), from `apiserver_longrunning_requests`.
 */
export function openWatches(metrics: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of metrics.split("\n")) {
    if (!line.startsWith("apiserver_longrunning_requests{")) continue;
    const labels = Object.fromEntries(
      [...line.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]] as const),
    );
    if (labels.verb !== "WATCH" || labels.subresource) continue;
    const key = `${labels.resource}/${labels.scope}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(line.split(" ").pop()));
  }
  return counts;
}
