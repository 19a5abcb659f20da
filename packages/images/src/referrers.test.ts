import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { checkPushAccess, probeManifest } from "./referrers.ts";

/** A registry that takes blob uploads and answers manifest PUTs with `manifestStatus`; records requests. */
async function registry(manifestStatus: number) {
  const seen: string[] = [];
  const server = http.createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      const url = new URL(request.url ?? "/", "http://x");
      seen.push(`${request.method} ${url.pathname}`);
      if (request.method === "POST" && url.pathname.endsWith("/blobs/uploads/")) {
        response.writeHead(202, { location: `${url.pathname}u1` }).end();
      } else if (request.method === "PATCH") {
        response.writeHead(202, { location: url.pathname }).end();
      } else if (request.method === "PUT" && url.pathname.includes("/blobs/uploads/")) {
        response.writeHead(201).end();
      } else if (request.method === "PUT" && url.pathname.includes("/manifests/")) {
        response
          .writeHead(manifestStatus, { "content-type": "application/json" })
          .end(
            manifestStatus === 201
              ? ""
              : JSON.stringify({ errors: [{ code: "DENIED", message: "no manifests for you" }] }),
          );
      } else {
        response.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  return { host: `127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const servers: http.Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

describe("checkPushAccess", () => {
  it("uploads the empty config and puts the probe artifact by digest in every repository", async () => {
    const { host, seen } = await registry(201);
    await checkPushAccess(
      host,
      ["a/volpop/x", "a/volpop/y"],
      { source: "test" },
      "application/vnd.cyclonedx+json",
    );
    const manifestPuts = seen.filter((line) => line.startsWith("PUT") && line.includes("/manifests/"));
    expect(manifestPuts).toEqual([
      expect.stringMatching(/^PUT \/v2\/a\/volpop\/x\/manifests\/sha256:[0-9a-f]{64}$/),
      expect.stringMatching(/^PUT \/v2\/a\/volpop\/y\/manifests\/sha256:[0-9a-f]{64}$/),
    ]);
  });

  it("refuses a login that may upload blobs but not manifests, before anything is published", async () => {
    const { host } = await registry(403);
    await expect(
      checkPushAccess(
        host,
        ["a/volpop/x"],
        { source: "~/.docker/config.json" },
        "application/vnd.cyclonedx+json",
      ),
    ).rejects.toThrow(
      new RegExp(`^cannot push to ${host}/a/volpop/x with the credentials from ~/.docker/config.json: .*403`),
    );
  });

  it("probes with the same bytes every time: one untagged manifest per repository, not one per release", () => {
    expect(Buffer.from(probeManifest("t")).toString()).toBe(Buffer.from(probeManifest("t")).toString());
    expect(JSON.parse(Buffer.from(probeManifest("t")).toString())).toMatchObject({
      artifactType: "t",
      layers: [{ mediaType: "t", size: 2 }],
    });
  });
});
