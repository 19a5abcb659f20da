import { clusterProcesses } from "./components-list.ts";
import { runningPid } from "./processes.ts";

export interface ComponentStatus {
  readonly name: string;
  readonly pid: number | undefined;
  readonly ready: boolean;
}

export async function clusterStatus(): Promise<ComponentStatus[]> {
  return Promise.all(
    clusterProcesses().map(async (spec) => {
      const pid = runningPid(spec.name);
      const ready = pid !== undefined && (await spec.ready().catch(() => false));
      return { name: spec.name, pid, ready };
    }),
  );
}

export async function clusterIsUp(): Promise<boolean> {
  return (await clusterStatus()).every((c) => c.ready);
}
