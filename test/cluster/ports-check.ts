import { ports } from "./config.ts";
import { run } from "./exec.ts";

export class PortInUseError extends Error {
  readonly code = "PORT_IN_USE";
}

/** Fails, naming port, purpose and holder, when any port the cluster listens on is taken. */
export async function checkPortsFree(): Promise<void> {
  const { stdout } = await run("ss", ["-Hltnp"]);
  const taken: string[] = [];
  for (const [purpose, port] of Object.entries(ports)) {
    const holder = stdout.split("\n").find((line) => line.split(/\s+/)[3]?.endsWith(`:${port}`));
    if (holder) taken.push(`port ${port} (${purpose}) is in use: ${holder.trim().replace(/\s+/g, " ")}`);
  }
  if (taken.length > 0) {
    throw new PortInUseError(
      `${taken.join("\n")}\nStop what holds it (if it is an earlier cluster: \`pnpm cluster down\`) and try again.`,
    );
  }
}

/** The subset of the cluster's ports that something still listens on. */
export async function listeningClusterPorts(): Promise<number[]> {
  const { stdout } = await run("ss", ["-Hltn"]);
  const open = new Set(stdout.split("\n").map((line) => Number(line.split(/\s+/)[3]?.split(":").pop())));
  return Object.values(ports).filter((p) => open.has(p));
}
