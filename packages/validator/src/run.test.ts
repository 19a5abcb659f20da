import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runValidator } from "./run.ts";
import { VERSION } from "./version.ts";

async function run(...argv: string[]) {
  let out = "";
  let err = "";
  const code = await runValidator(argv, {
    stdout: (text) => {
      out += text;
    },
    stderr: (text) => {
      err += text;
    },
  });
  return { code, out, err };
}

describe("runValidator", () => {
  it("prints the version and exits 0", async () => {
    expect(await run("--version")).toEqual({
      code: 0,
      out: `volume-data-source-validator ${VERSION}\n`,
      err: "",
    });
  });

  it("prints the help and exits 0", async () => {
    const { code, out } = await run("--help");
    expect(code).toBe(0);
    expect(out).toContain("--leader-election-renew-deadline value");
  });

  it("exits 2 with the problem and the help on a bad command line", async () => {
    const { code, err } = await run("--worker-threads=many");
    expect(code).toBe(2);
    expect(err).toMatch(/^invalid --worker-threads "many"/);
    expect(err).toContain("Usage: volume-data-source-validator");
  });

  it("exits 2 for leader election timings the election would refuse, such as a 500 ms lease", async () => {
    const { code, err } = await run("--leader-election", "--leader-election-lease-duration=500ms");
    expect(code).toBe(2);
    expect(err).toMatch(
      /^--leader-election-lease-duration must be at least 1s \(a Lease counts whole seconds\)/,
    );
    expect(err).toContain("Usage: volume-data-source-validator");
  });
});

describe("runValidator with --http-endpoint", () => {
  it("serves health, readiness and metrics while the API server is unreachable, and stops cleanly", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "validator-run-"));
    const kubeconfig = path.join(dir, "kubeconfig");
    await writeFile(kubeconfig, unreachableKubeconfig());
    const port = await freePort();
    const stop = new AbortController();
    const exited = runValidator(
      [`--kubeconfig=${kubeconfig}`, `--http-endpoint=127.0.0.1:${port}`, "--log-level=silent"],
      { signal: stop.signal },
    );
    try {
      const base = `http://127.0.0.1:${port}`;
      const healthz = await eventually(() => fetch(`${base}/healthz`));
      expect(healthz.status).toBe(200);
      const readyz = await fetch(`${base}/readyz`);
      expect(readyz.status).toBe(503);
      const why = await readyz.text();
      expect(why).toContain("[-]watch-PersistentVolumeClaim failed");
      expect(why).toContain("[-]watch-VolumePopulator failed");
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toContain('volume_data_source_validator_operation_count{result="error"} 0');
      expect(metrics).toContain("process_start_time_seconds");
    } finally {
      stop.abort();
      expect(await exited).toBe(0);
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("runValidator with --webhook-port", () => {
  it("reports the webhook unready while it cannot get its certificate, and stops cleanly", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "validator-run-"));
    const kubeconfig = path.join(dir, "kubeconfig");
    await writeFile(kubeconfig, unreachableKubeconfig());
    const [port, webhookPort] = [await freePort(), await freePort()];
    const stop = new AbortController();
    const exited = runValidator(
      [
        `--kubeconfig=${kubeconfig}`,
        `--http-endpoint=127.0.0.1:${port}`,
        `--webhook-port=${webhookPort}`,
        "--webhook-namespace=volpop-system",
        "--log-level=silent",
      ],
      { signal: stop.signal },
    );
    try {
      const why = await eventually(async () => {
        const text = await (await fetch(`http://127.0.0.1:${port}/readyz`)).text();
        if (!text.includes("[-]webhook failed: ")) throw new Error(`not yet: ${text}`);
        return text;
      });
      expect(why).toContain("[-]watch-VolumePopulator failed");
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toContain('volume_data_source_validator_admission_review_count{result="invalid"} 0');
    } finally {
      stop.abort();
      expect(await exited).toBe(0);
      await rm(dir, { recursive: true, force: true });
    }
  });
});

function unreachableKubeconfig(): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "nowhere", cluster: { server: "https://127.0.0.1:1" } }],
    users: [{ name: "nobody", user: { token: "none" } }],
    contexts: [{ name: "nowhere", context: { cluster: "nowhere", user: "nobody" } }],
    "current-context": "nowhere",
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function eventually<T>(attempt: () => Promise<T>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
