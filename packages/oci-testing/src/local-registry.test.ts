import fs from "node:fs";
import https from "node:https";
import { describe, expect, it } from "vitest";
import { htpasswdLine } from "./htpasswd.ts";
import { startLocalRegistry } from "./local-registry.ts";

describe("startLocalRegistry", () => {
  it("serves HTTPS that the returned CA verifies, and removes its storage when stopped", async () => {
    const registry = await startLocalRegistry({ tls: true });
    expect(registry.url).toBe(`https://${registry.host}`);
    const status = await new Promise<number | undefined>((resolve, reject) => {
      https
        .get(`${registry.url}/v2/`, { ca: registry.caPem, agent: false }, (res) => {
          res.resume();
          resolve(res.statusCode);
        })
        .on("error", reject);
    });
    expect(status).toBe(200);
    expect(registry.pushTarget).toEqual({ registry: registry.host, caPem: registry.caPem });
    await registry.stop();
    expect(fs.existsSync(registry.storageDir)).toBe(false);
  });

  it("refuses to combine htpasswd and token auth", async () => {
    const user = { user: "u", password: "p" };
    await expect(startLocalRegistry({ htpasswd: user, token: user })).rejects.toThrow(/not both/);
  });

  it("says why when the registry binary cannot start", async () => {
    await expect(startLocalRegistry({ binary: "/nonexistent/docker-registry" })).rejects.toThrow(
      /cannot start the registry|exited/,
    );
  });
});

describe("htpasswdLine", () => {
  it("makes a bcrypt line the registry accepts", async () => {
    expect(await htpasswdLine("alice", "pw")).toMatch(/^alice:\$2[aby]\$05\$[./A-Za-z0-9]{53}$/);
    await expect(htpasswdLine("a:b", "pw")).rejects.toThrow(/cannot contain ':'/);
  });
});
