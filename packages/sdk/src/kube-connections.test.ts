import { execFileSync } from "node:child_process";
import fs from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fingerprint, reuseConnections } from "./kube-connections.ts";

// A stand-in API server that only answers "empty NamespaceList": what is measured here is the
// HTTP client (connections opened), not Kubernetes behaviour.
let dir: string;
let server: https.Server;
let connections = 0;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "volpop-connections-"));
  const certificate =
    "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout key.pem -out cert.pem -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1";
  execFileSync("openssl", certificate.split(" "), { cwd: dir, stdio: "pipe" });
  server = https.createServer(
    { key: fs.readFileSync(path.join(dir, "key.pem")), cert: fs.readFileSync(path.join(dir, "cert.pem")) },
    (_request, response) => {
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify({ apiVersion: "v1", kind: "NamespaceList", metadata: {}, items: [] }));
    },
  );
  server.on("secureConnection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
});

afterAll(() => {
  server.closeAllConnections();
  server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function kubeConfig(caFile = path.join(dir, "cert.pem")): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, caFile }],
    users: [{ name: "u", token: "t" }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  return kc;
}

async function connectionsFor(calls: number, kc: KubeConfig): Promise<number> {
  const core = kc.makeApiClient(CoreV1Api);
  const before = connections;
  for (let i = 0; i < calls; i++) await core.listNamespace();
  return connections - before;
}

describe("reuseConnections", () => {
  it("client-node alone opens a new TLS connection for every API call (why reuseConnections exists)", async () => {
    expect(await connectionsFor(5, kubeConfig())).toBe(5);
  });

  // undici may open a second connection while the first is being handed back to the pool (the next
  // call is dispatched in the same tick the previous response ends); both are then reused.
  it("makes twenty API calls share at most two TLS connections", async () => {
    const kc = reuseConnections(kubeConfig());
    expect(await connectionsFor(20, kc)).toBeLessThanOrEqual(2);
    expect(await connectionsFor(20, kc)).toBe(0);
  });

  it("opens about as many connections as calls in flight at once, not one per call", async () => {
    const core = reuseConnections(kubeConfig()).makeApiClient(CoreV1Api);
    const before = connections;
    for (let round = 0; round < 3; round++) {
      await Promise.all(Array.from({ length: 4 }, () => core.listNamespace()));
    }
    expect(connections - before).toBeLessThanOrEqual(5);
  });

  it("is idempotent: applying it twice still shares the pool", async () => {
    const kc = reuseConnections(reuseConnections(kubeConfig()));
    expect(await connectionsFor(10, kc)).toBeLessThanOrEqual(2);
  });

  it("starts a new pool when the CA file changes on disk, as after a rotation", async () => {
    const caFile = path.join(dir, "rotating-ca.pem");
    fs.copyFileSync(path.join(dir, "cert.pem"), caFile);
    const kc = reuseConnections(kubeConfig(caFile));
    expect(await connectionsFor(3, kc)).toBeGreaterThan(0);
    expect(await connectionsFor(3, kc)).toBe(0);
    // Same certificate, different bytes: enough to prove the options are looked at on every call.
    fs.appendFileSync(caFile, "\n");
    expect(await connectionsFor(3, kc)).toBeGreaterThan(0);
  });
});

describe("fingerprint", () => {
  it("ignores key order and undefined fields", () => {
    expect(fingerprint({ a: 1, b: "x", c: undefined })).toBe(fingerprint({ b: "x", a: 1 }));
  });

  it("tells different bytes, types and nesting apart", () => {
    const digests = [
      fingerprint({ ca: Buffer.from("one") }),
      fingerprint({ ca: Buffer.from("two") }),
      fingerprint({ ca: "one" }),
      fingerprint(["a", ["b"]]),
      fingerprint([["a"], "b"]),
      fingerprint(1),
      fingerprint("1"),
    ];
    expect(new Set(digests).size).toBe(digests.length);
  });
});
