/**
 * Faults in the embedded cluster's own components, for the reliability tier: a component stopped
 * (SIGTERM, then SIGKILL after a grace period, as systemd would) and started again from the same
 * command line once `downMs` has passed, waiting until it serves again. Its state stays where it was
 * (etcd's data, the CSI driver's state directory, the kubelet's root), as across a real restart.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { clusterProcesses } from "./components-list.ts";
import type { NodeComponent } from "./nodes.ts";
import { runningPid, startProcess, stopProcess } from "./processes.ts";

/**
 * The components a fault can hit, by their process names: the first node's go by the component's
 * name, a further node's as `<component>@<node>` (see nodes.ts).
 */
export type ComponentName =
  | "etcd"
  | "kube-apiserver"
  | "kubelet"
  | "csi-hostpath"
  | "csi-provisioner"
  | "containerd"
  | `${NodeComponent}@${string}`;

export interface RestartOptions {
  /** How long the component stays down. Default 0: started again at once. */
  readonly downMs?: number;
  /** How long it may take to stop before SIGKILL. Default 10 s. */
  readonly graceMs?: number;
}

function specOf(name: ComponentName) {
  const spec = clusterProcesses().find((process) => process.name === name);
  if (spec === undefined) throw new Error(`the embedded cluster has no component ${name}`);
  return spec;
}

/** Stops `name` (SIGTERM, SIGKILL after `graceMs`). Throws if it is not running. */
export async function stopComponent(name: ComponentName, graceMs?: number): Promise<void> {
  specOf(name);
  if (runningPid(name) === undefined) throw new Error(`${name} is not running: is the embedded cluster up?`);
  await stopProcess(name, graceMs);
}

/** Starts `name` again from its usual command line and state; resolves once it serves. */
export async function startComponent(name: ComponentName): Promise<void> {
  await startProcess(specOf(name));
}

/** Stops `name` and starts it again; resolves once it serves. Throws if it is not running. */
export async function restartComponent(name: ComponentName, options: RestartOptions = {}): Promise<void> {
  await stopComponent(name, options.graceMs);
  if (options.downMs) await sleep(options.downMs);
  await startComponent(name);
}
