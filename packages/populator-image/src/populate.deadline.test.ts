/**
 * The population deadline: one bound on a whole attempt, whatever each byte's pace. A registry or a
 * token server that trickles one byte at a time never trips the idle timeout, so only the deadline
 * stops it, and the volume is emptied as after any failure.
 */
import type http from "node:http";
import { digestOf, MediaType } from "@volpop/oci";
import {
  type RecordingServer,
  type SeenRequest,
  snapshotTree,
  startRecordingServer,
  tarBytes,
} from "@volpop/oci-testing";
import { badInputCase, contained } from "@volpop/test-catalogue";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { shortDigest } from "./populate/describe-failure.ts";
import type { ImagePopulateError } from "./populate/errors.ts";
import { failureOf, type Pod, scratchPod } from "./populate/testing.ts";

const DEADLINE_MS = 400;
/** Far under the idle timeout: each byte keeps the connection alive. */
const TRICKLE_EVERY_MS = 40;

let pod: Pod;
const servers: RecordingServer[] = [];
beforeEach(() => {
  pod = scratchPod();
});
afterEach(async () => {
  for (const server of servers.splice(0)) await server.stop();
  pod.remove();
});

/** Sends `head` at once, then `tail` one byte every {@link TRICKLE_EVERY_MS}, never faster. */
function trickle(response: http.ServerResponse, status: number, type: string, head: Buffer, tail: Buffer) {
  response.writeHead(status, { "content-type": type, "content-length": String(head.length + tail.length) });
  response.write(head);
  let sent = 0;
  const timer = setInterval(() => {
    if (sent < tail.length) response.write(tail.subarray(sent, ++sent));
    else response.end();
  }, TRICKLE_EVERY_MS);
  response.on("close", () => clearInterval(timer));
}

function send(response: http.ServerResponse, status: number, type: string, body: Buffer | string) {
  response.writeHead(status, { "content-type": type, "content-length": String(Buffer.byteLength(body)) });
  response.end(body);
}

async function registry(handler: (request: SeenRequest, response: http.ServerResponse) => void) {
  const server = await startRecordingServer(handler);
  servers.push(server);
  return server;
}

/** An image of one uncompressed layer: its manifest, config and layer bytes. */
async function image() {
  const layer = await tarBytes([
    { type: "dir", path: "data" },
    { type: "file", path: "data/first", content: "written before the trickle" },
    { type: "file", path: "data/second", content: "x".repeat(4096) },
  ]);
  const config = Buffer.from(JSON.stringify({ rootfs: { type: "layers", diff_ids: [digestOf(layer)] } }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: digestOf(config), size: config.length },
      layers: [{ mediaType: MediaType.OciLayer, digest: digestOf(layer), size: layer.length }],
    }),
  );
  return { layer, config, manifest };
}

/** Populates with a short deadline; resolves to the error and how long it took. */
async function populateWithDeadline(spec: object): Promise<{ error: Error; elapsedMs: number }> {
  const started = Date.now();
  const error = await failureOf(pod.populate(spec, { deadlineMs: DEADLINE_MS }));
  return { error, elapsedMs: Date.now() - started };
}

describe("the population deadline", () => {
  badInputCase(
    {
      id: "image-slow-manifest",
      component: "image",
      input: "a registry trickling its manifest one byte every 40 ms (never idle long enough to time out)",
      expected: "POPULATION_DEADLINE_EXCEEDED: did not finish within the population deadline",
      checks: ["volume-left-empty"],
    },
    async () => {
      const { manifest } = await image();
      const server = await registry((_request, response) => {
        trickle(response, 200, MediaType.OciManifest, Buffer.alloc(0), manifest);
      });
      const reference = `${server.host}/app:v1`;
      const { error, elapsedMs } = await populateWithDeadline({
        image: reference,
        insecureRegistries: [server.host],
      });
      expect(error.message).toBe(
        `image ${reference}: did not finish within the population deadline of 400ms (the image populator's --population-deadline)`,
      );
      expect((error as ImagePopulateError).code).toBe("POPULATION_DEADLINE_EXCEEDED");
      expect(elapsedMs).toBeLessThan(DEADLINE_MS + 2_000);
      contained("volume-left-empty", () => expect(snapshotTree(pod.volume)).toEqual({}));
    },
    10_000,
  );

  badInputCase(
    {
      id: "image-slow-token-server",
      component: "image",
      input: "a token server trickling its answer one byte every 40 ms",
      expected: "POPULATION_DEADLINE_EXCEEDED: did not finish within the population deadline",
      checks: ["volume-left-empty"],
    },
    async () => {
      const token = await registry((_request, response) => {
        trickle(
          response,
          200,
          "application/json",
          Buffer.from('{"token":"'),
          Buffer.from(`${"t".repeat(1000)}"}`),
        );
      });
      const server = await registry((_request, response) => {
        response.writeHead(401, {
          "www-authenticate": `Bearer realm="${token.url}/token",service="registry"`,
        });
        response.end();
      });
      const reference = `${server.host}/app:v1`;
      const { error, elapsedMs } = await populateWithDeadline({
        image: reference,
        insecureRegistries: [server.host],
      });
      expect(error.message).toMatch(/did not finish within the population deadline of 400ms/);
      expect(token.requests).toHaveLength(1);
      expect(elapsedMs).toBeLessThan(DEADLINE_MS + 2_000);
      contained("volume-left-empty", () => expect(snapshotTree(pod.volume)).toEqual({}));
    },
    10_000,
  );

  badInputCase(
    {
      id: "image-slow-layer",
      component: "image",
      input: "a layer trickling one byte every 40 ms once extraction is under way",
      expected: "POPULATION_DEADLINE_EXCEEDED, while reading the layer; what it had written removed",
      checks: ["volume-left-empty"],
    },
    async () => {
      const { layer, config, manifest } = await image();
      const server = await registry((request, response) => {
        if (request.path.includes("/manifests/")) send(response, 200, MediaType.OciManifest, manifest);
        else if (request.path.endsWith(digestOf(config)))
          send(response, 200, "application/octet-stream", config);
        // The first file and most of the second at once: extraction is under way when the trickle starts.
        else
          trickle(response, 200, "application/octet-stream", layer.subarray(0, 2048), layer.subarray(2048));
      });
      const reference = `${server.host}/app:v1`;
      const { error, elapsedMs } = await populateWithDeadline({
        image: reference,
        insecureRegistries: [server.host],
      });
      expect(error.message).toBe(
        `image ${reference}: did not finish within the population deadline of 400ms (the image populator's --population-deadline), while reading layer ${shortDigest(digestOf(layer))}`,
      );
      expect(elapsedMs).toBeLessThan(DEADLINE_MS + 2_000);
      contained("volume-left-empty", () => expect(snapshotTree(pod.volume)).toEqual({}));
    },
    10_000,
  );

  it("leaves a population that finishes in time alone", async () => {
    const { layer, config, manifest } = await image();
    const server = await registry((request, response) => {
      if (request.path.includes("/manifests/")) send(response, 200, MediaType.OciManifest, manifest);
      else if (request.path.endsWith(digestOf(config)))
        send(response, 200, "application/octet-stream", config);
      else send(response, 200, "application/octet-stream", layer);
    });
    await pod.populate(
      { image: `${server.host}/app:v1`, insecureRegistries: [server.host] },
      { deadlineMs: 5_000 },
    );
    expect(snapshotTree(pod.volume)).toMatchObject({ "data/first": 'file 644 "written before the trickle"' });
  });
});
