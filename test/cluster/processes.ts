import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { layout } from "./config.ts";

/** A host process of the cluster: started detached, logging to `<logs>/<name>.log`, tracked by a pid file. */
export interface ProcessSpec {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  /** Writes the configuration files the process reads; run just before it starts. */
  readonly prepare?: () => void;
  /** Resolves true once the process serves; polled until `readyTimeoutMs`. */
  readonly ready: () => Promise<boolean>;
  readonly readyTimeoutMs?: number;
}

export class ComponentError extends Error {
  readonly code = "COMPONENT_FAILED";
}

export function logFile(name: string): string {
  return path.join(layout.logs, `${name}.log`);
}

function pidFile(name: string): string {
  return path.join(layout.pids, `${name}.pid`);
}

export function tailOf(file: string, lines = 25): string {
  try {
    return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

export async function startProcess(spec: ProcessSpec): Promise<void> {
  spec.prepare?.();
  fs.mkdirSync(layout.logs, { recursive: true });
  fs.mkdirSync(layout.pids, { recursive: true });
  const log = fs.openSync(logFile(spec.name), "a");
  const child = spawn(spec.command, spec.args, {
    detached: true,
    stdio: ["ignore", log, log],
    env: spec.env ?? process.env,
  });
  fs.closeSync(log);
  const spawnError = new Promise<Error>((resolve) => child.once("error", resolve));
  let exited: number | string | undefined;
  child.once("exit", (code, signal) => {
    exited = signal ?? code ?? "unknown";
  });
  child.unref();
  if (child.pid === undefined) {
    throw new ComponentError(`${spec.name}: could not start ${spec.command}: ${(await spawnError).message}`);
  }
  fs.writeFileSync(pidFile(spec.name), `${child.pid}\n`);
  const deadline = Date.now() + (spec.readyTimeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      throw new ComponentError(
        `${spec.name} exited (${exited}) while starting; last lines of ${logFile(spec.name)}:\n${tailOf(logFile(spec.name))}`,
      );
    }
    if (await spec.ready().catch(() => false)) return;
    await sleep(250);
  }
  throw new ComponentError(
    `${spec.name} did not become ready within ${(spec.readyTimeoutMs ?? 60_000) / 1000}s; last lines of ${logFile(spec.name)}:\n${tailOf(logFile(spec.name))}`,
  );
}

export function runningPid(name: string): number | undefined {
  let pid: number;
  try {
    pid = Number.parseInt(fs.readFileSync(pidFile(name), "utf8"), 10);
  } catch {
    return undefined;
  }
  return Number.isInteger(pid) && isAlive(pid) ? pid : undefined;
}

export function trackedNames(): string[] {
  try {
    return fs
      .readdirSync(layout.pids)
      .filter((f) => f.endsWith(".pid"))
      .map((f) => f.slice(0, -4));
  } catch {
    return [];
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * SIGTERM to the process group, SIGKILL after `graceMs`; forgets the pid file. Waits for the whole
 * group, not only its leader: a supervising shell (the provisioner's restart loop) dies at once, its
 * child may take its time.
 */
export async function stopProcess(name: string, graceMs = 10_000): Promise<void> {
  const pid = runningPid(name);
  if (pid !== undefined) {
    const running = () => groupAlive(pid) || isAlive(pid);
    signalGroup(pid, "SIGTERM");
    const deadline = Date.now() + graceMs;
    while (running() && Date.now() < deadline) await sleep(100);
    if (running()) signalGroup(pid, "SIGKILL");
    while (running()) await sleep(50);
  }
  fs.rmSync(pidFile(name), { force: true });
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}
