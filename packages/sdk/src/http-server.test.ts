import { createServer } from "node:net";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError } from "./errors.ts";
import {
  type HealthCheck,
  type HttpEndpoint,
  type HttpEndpointOptions,
  startHttpEndpoint,
} from "./http-server.ts";
import { parseListenAddress } from "./listen-address.ts";
import { createPopulatorMetrics } from "./metrics.ts";

const healthy: HealthCheck = () => [{ name: "ping", ok: true }];

const running: HttpEndpoint[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((endpoint) => endpoint.close()));
});

async function start(overrides: Partial<HttpEndpointOptions> = {}) {
  const metrics = createPopulatorMetrics(new Registry(), { processMetrics: false });
  const endpoint = await startHttpEndpoint({
    address: "127.0.0.1:0",
    registry: metrics.registry,
    checks: { healthz: healthy, readyz: healthy },
    ...overrides,
  });
  running.push(endpoint);
  const url = (path: string) => `http://127.0.0.1:${endpoint.address.port}${path}`;
  return { endpoint, metrics, url };
}

describe("parseListenAddress", () => {
  it.each([
    { address: ":8080", parsed: { port: 8080 } },
    { address: "127.0.0.1:0", parsed: { host: "127.0.0.1", port: 0 } },
    { address: "localhost:9090", parsed: { host: "localhost", port: 9090 } },
    { address: "[::1]:8080", parsed: { host: "::1", port: 8080 } },
    { address: "[::]:65535", parsed: { host: "::", port: 65535 } },
  ])("reads $address", ({ address, parsed }) => {
    expect(parseListenAddress(address)).toEqual(parsed);
  });

  it.each(["", "8080", "host", "host:", ":http", ":65536", ":-1", "::1:8080", "[::1]", "a:b:80", ":123456"])(
    "rejects %j with a ConfigError naming it",
    (address) => {
      expect(() => parseListenAddress(address)).toThrow(ConfigError);
      expect(() => parseListenAddress(address)).toThrow(
        `invalid HTTP endpoint address ${JSON.stringify(address)}`,
      );
    },
  );
});

describe("startHttpEndpoint", () => {
  it("binds a free port when given port 0 and reports the address", async () => {
    const { endpoint } = await start();
    expect(endpoint.address.host).toBe("127.0.0.1");
    expect(endpoint.address.port).toBeGreaterThan(0);
  });

  it.each(["/healthz", "/readyz"])("answers %s with 200 ok when every check passes", async (path) => {
    const { url } = await start();
    const response = await fetch(url(path));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(await response.text()).toBe("ok");
  });

  it("answers 503 naming each failing check and its reason", async () => {
    const readyz: HealthCheck = () => [
      { name: "ping", ok: true },
      { name: "informers-synced", ok: false, reason: "pods informer has not synced" },
      { name: "leader", ok: false },
    ];
    const { url } = await start({ checks: { healthz: healthy, readyz } });
    const response = await fetch(url("/readyz"));
    expect(response.status).toBe(503);
    expect(await response.text()).toBe(
      [
        "[+]ping ok",
        "[-]informers-synced failed: pods informer has not synced",
        "[-]leader failed: no reason given",
        "readyz check failed",
        "",
      ].join("\n"),
    );
    expect((await fetch(url("/healthz"))).status).toBe(200);
  });

  it("lists the checks on success with ?verbose", async () => {
    const { url } = await start();
    const response = await fetch(url("/healthz?verbose"));
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("[+]ping ok\nhealthz check passed\n");
  });

  it("counts a check that throws, or one that rejects, as failed", async () => {
    const healthz: HealthCheck = () => {
      throw new Error("check crashed");
    };
    const readyz: HealthCheck = async () => Promise.reject(new Error("lookup failed"));
    const { url } = await start({ checks: { healthz, readyz } });
    const health = await fetch(url("/healthz"));
    expect(health.status).toBe(503);
    expect(await health.text()).toContain("[-]healthz failed: check crashed");
    const ready = await fetch(url("/readyz"));
    expect(ready.status).toBe(503);
    expect(await ready.text()).toContain("[-]readyz failed: lookup failed");
  });

  it("re-runs the checks on every request", async () => {
    let ready = false;
    const { url } = await start({
      checks: { healthz: healthy, readyz: () => [{ name: "sync", ok: ready }] },
    });
    expect((await fetch(url("/readyz"))).status).toBe(503);
    ready = true;
    expect((await fetch(url("/readyz"))).status).toBe(200);
  });

  it("serves the registry's metrics in the Prometheus text format", async () => {
    const { url, metrics } = await start();
    metrics.recordReconcile("success");
    const response = await fetch(url("/metrics"));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const body = await response.text();
    expect(body).toContain("# TYPE volume_populator_operation_seconds histogram");
    expect(body).toContain('volpop_reconcile_total{result="success"} 1');
  });

  it("serves metrics on a custom path only", async () => {
    const { url } = await start({ metricsPath: "/custom/metrics" });
    expect((await fetch(url("/custom/metrics"))).status).toBe(200);
    expect((await fetch(url("/metrics"))).status).toBe(404);
  });

  it("answers 500 when collecting metrics fails, and keeps serving", async () => {
    const registry = {
      contentType: "text/plain",
      metrics: () => Promise.reject(new Error("collector broke")),
    };
    const { url } = await start({ registry });
    const response = await fetch(url("/metrics"));
    expect(response.status).toBe(500);
    expect(await response.text()).toContain("collector broke");
    expect((await fetch(url("/healthz"))).status).toBe(200);
  });

  it.each(["/", "/healthz/extra", "/metricsx", "//"])("answers 404 for %s", async (path) => {
    const { url } = await start();
    expect((await fetch(url(path))).status).toBe(404);
  });

  it("answers HEAD without a body and refuses other methods with 405", async () => {
    const { url } = await start();
    const head = await fetch(url("/healthz"), { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
    const post = await fetch(url("/healthz"), { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });

  it("rejects a port in use with a ConfigError naming the address", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const { port } = blocker.address() as { port: number };
    try {
      const attempt = start({ address: `127.0.0.1:${port}` });
      await expect(attempt).rejects.toThrow(ConfigError);
      await expect(attempt).rejects.toThrow(
        `cannot listen on HTTP endpoint "127.0.0.1:${port}": address already in use`,
      );
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it("rejects a malformed address before listening", async () => {
    await expect(start({ address: "8080" })).rejects.toThrow('invalid HTTP endpoint address "8080"');
  });

  it("stops accepting connections on close, and close can be called twice", async () => {
    const { endpoint, url } = await start();
    await fetch(url("/healthz"));
    await endpoint.close();
    await endpoint.close();
    await expect(fetch(url("/healthz"))).rejects.toThrow();
  });

  it("logs where it listens", async () => {
    const lines: [object | string, string | undefined][] = [];
    const log = (fields: object | string, msg?: string) => void lines.push([fields, msg]);
    const logger = { debug: log, info: log, warn: log, error: log, child: () => logger };
    const { endpoint } = await start({ logger });
    expect(lines).toContainEqual([
      { address: "127.0.0.1:0", port: endpoint.address.port, metricsPath: "/metrics" },
      "HTTP endpoint listening",
    ]);
  });
});
