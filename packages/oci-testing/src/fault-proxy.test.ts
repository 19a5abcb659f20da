import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FaultProxy, startFaultProxy } from "./fault-proxy.ts";

// An upstream that sends `payload` to whoever connects, then closes.
const payload = Buffer.alloc(100_000, 7);

describe("startFaultProxy", () => {
  let upstream: net.Server;
  let proxy: FaultProxy;
  beforeAll(async () => {
    upstream = net.createServer((socket) => {
      // A cut connection resets this end too.
      socket.on("error", () => {});
      socket.end(payload);
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    proxy = await startFaultProxy({ host: "127.0.0.1", port: (upstream.address() as net.AddressInfo).port });
  });
  afterAll(async () => {
    await proxy.stop();
    await new Promise((resolve) => upstream.close(resolve));
  });

  function receive(): Promise<{ bytes: number; error?: string }> {
    return new Promise((resolve) => {
      let bytes = 0;
      const socket = net.connect(proxy.port, "127.0.0.1");
      socket.on("data", (chunk) => {
        bytes += chunk.length;
      });
      socket.on("error", (error: NodeJS.ErrnoException) =>
        resolve({ bytes, error: error.code ?? error.message }),
      );
      socket.on("close", () => resolve({ bytes }));
    });
  }

  it("passes traffic through untouched", async () => {
    expect(await receive()).toEqual({ bytes: payload.length });
  });

  it("cuts the connection after the given byte count, once", async () => {
    proxy.cutAfter(30_000);
    expect((await receive()).bytes).toBe(30_000);
    expect(proxy.cuts).toBe(1);
    expect((await receive()).bytes).toBe(payload.length);
  });

  it("refuses connections while down and accepts them again when up", async () => {
    await proxy.down();
    expect(await receive()).toEqual({ bytes: 0, error: "ECONNREFUSED" });
    await proxy.up();
    expect(await receive()).toEqual({ bytes: payload.length });
  });
});
