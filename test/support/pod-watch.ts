import { type KubeConfig, type V1Pod, Watch } from "@kubernetes/client-node";

/**
 * Every pod created in a namespace while it runs, from a watch: by name, and each name's instances
 * by uid (a pod created twice under one name shows as two). A watch the API server ends is opened
 * again; it replays the pods that exist then, which the uids make harmless.
 */
export function watchPods(kubeConfig: KubeConfig, namespace: string) {
  const instances = new Map<string, Set<string>>();
  let request: { abort(): void } | undefined;
  let stopped = false;
  const open = async (): Promise<void> => {
    request = await new Watch(kubeConfig).watch(
      `/api/v1/namespaces/${namespace}/pods`,
      {},
      (phase: string, pod: V1Pod) => {
        const name = pod.metadata?.name;
        if (phase !== "ADDED" || !name) return;
        const uids = instances.get(name) ?? new Set<string>();
        uids.add(pod.metadata?.uid ?? "");
        instances.set(name, uids);
      },
      () => {
        if (!stopped) void open().catch(() => undefined);
      },
    );
  };
  return {
    /** Names of the pods created so far. */
    created: (): Set<string> => new Set(instances.keys()),
    /** How many pods named `name` were created so far. */
    instances: (name: string): number => instances.get(name)?.size ?? 0,
    start: open,
    stop(): void {
      stopped = true;
      request?.abort();
    },
  };
}
