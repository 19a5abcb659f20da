import { setTimeout as sleep } from "node:timers/promises";
import { type KubeConfig, type V1Pod, Watch } from "@kubernetes/client-node";

/**
 * Every pod created in a namespace while it runs, from a watch: by name, and each name's instances
 * by uid (a pod created twice under one name shows as two). A watch that ends (the API server closed
 * it, or restarted) is opened again, every half second until it opens, from the last resourceVersion
 * seen, so that a pod created while it was closed is still counted; if that version is too old
 * (410 Gone), from now, replaying the pods that exist then, which the uids make harmless.
 */
export function watchPods(kubeConfig: KubeConfig, namespace: string) {
  const instances = new Map<string, Set<string>>();
  const nodes = new Map<string, Set<string>>();
  let request: { abort(): void } | undefined;
  let stopped = false;
  let lastVersion: string | undefined;
  const open = async (): Promise<void> => {
    request = await new Watch(kubeConfig).watch(
      `/api/v1/namespaces/${namespace}/pods`,
      lastVersion === undefined ? {} : { resourceVersion: lastVersion },
      (phase: string, pod: V1Pod & { code?: number }) => {
        if (phase === "ERROR") {
          // 410 Gone: the version is compacted away; start again from now.
          if (pod.code === 410) lastVersion = undefined;
          return;
        }
        lastVersion = pod.metadata?.resourceVersion ?? lastVersion;
        const name = pod.metadata?.name;
        const node = pod.spec?.nodeName;
        if (name && node) nodes.set(name, (nodes.get(name) ?? new Set<string>()).add(node));
        if (phase !== "ADDED" || !name) return;
        const uids = instances.get(name) ?? new Set<string>();
        uids.add(pod.metadata?.uid ?? "");
        instances.set(name, uids);
      },
      () => void reopen(),
    );
  };
  const reopen = async (): Promise<void> => {
    while (!stopped) {
      try {
        await open();
        return;
      } catch {
        await sleep(500);
      }
    }
  };
  return {
    /** Names of the pods created so far. */
    created: (): Set<string> => new Set(instances.keys()),
    /** The nodes pods named `name` were bound to, in the order first seen. */
    nodesOf: (name: string): string[] => [...(nodes.get(name) ?? [])],
    /** How many pods named `name` were created so far. */
    instances: (name: string): number => instances.get(name)?.size ?? 0,
    start: open,
    stop(): void {
      stopped = true;
      request?.abort();
    },
  };
}
