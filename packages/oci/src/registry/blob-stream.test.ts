import http from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes } from "@volpop/oci-testing";
import { afterEach, describe, expect, it } from "vitest";
import { RegistryClient } from "./client.ts";
import { digestOf } from "./digest.ts";
import {
  BlobNotFoundError,
  BlobSizeMismatchError,
  DigestMismatchError,
  RegistryUnavailableError,
} from "./errors.ts";
import type { Descriptor } from "./manifest.ts";
import { MediaType } from "./media-types.ts";
import type { RegistryClientOptions } from "./options.ts";

const blob = randomBytes(256 * 1024, "blob-stream");
const descriptor: Descriptor = { mediaType: MediaType.OciLayer, digest: digestOf(blob), size: blob.length };

interface Served {
  readonly range: string | undefined;
}

let server: http.Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

// A blob server on 127.0.0.1 whose n-th answer (from 0) `handler` writes.
async function blobServer(
  handler: (n: number, req: http.IncomingMessage, res: http.ServerResponse) => void,
  options: RegistryClientOptions = {},
): Promise<{ client: RegistryClient; served: Served[] }> {
  const served: Served[] = [];
  server = http.createServer((req, res) => {
    served.push({ range: req.headers.range });
    handler(served.length - 1, req, res);
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new RegistryClient({
    insecureRegistries: [host],
    retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 5 },
    ...options,
  });
  clientHost = host;
  return { client, served };
}
let clientHost = "";

function read(client: RegistryClient, what: Descriptor = descriptor): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const stream = client.openBlob({ registry: clientHost, repository: "app" }, what);
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => resolve(Buffer.concat(chunks)));
    stream.on("error", reject);
  });
}

// Sends the headers for the whole blob, then `bytes` of it, then drops the connection.
function cutAfter(res: http.ServerResponse, bytes: number, status = 200, body: Buffer = blob): void {
  res.writeHead(status, { "content-length": String(body.length) });
  res.write(body.subarray(0, bytes), () => res.socket?.destroy());
}

function serveRange(req: http.IncomingMessage, res: http.ServerResponse): void {
  const start = Number(/bytes=(\d+)-/.exec(req.headers.range ?? "")?.[1] ?? 0);
  res.writeHead(206, {
    "content-length": String(blob.length - start),
    "content-range": `bytes ${start}-${blob.length - 1}/${blob.length}`,
  });
  res.end(blob.subarray(start));
}

describe("openBlob", () => {
  it("resumes a dropped download with a Range request from the last byte received", async () => {
    const { client, served } = await blobServer((n, req, res) =>
      n === 0 ? cutAfter(res, 100_000) : serveRange(req, res),
    );
    expect((await read(client)).equals(blob)).toBe(true);
    expect(served).toHaveLength(2);
    expect(served[0]?.range).toBeUndefined();
    const resumedAt = Number(/bytes=(\d+)-/.exec(served[1]?.range ?? "")?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(100_000);
    client.close();
  });

  it("skips what it already has when the server ignores Range and sends the whole blob again", async () => {
    const { client, served } = await blobServer((n, _req, res) => {
      if (n === 0) cutAfter(res, 150_000);
      else res.end(blob);
    });
    expect((await read(client)).equals(blob)).toBe(true);
    expect(served[1]?.range).toMatch(/^bytes=\d+-$/);
    client.close();
  });

  it("fails with DigestMismatchError, never ending normally, when the bytes are not the blob", async () => {
    const tampered = Buffer.from(blob);
    tampered[1000] = (tampered[1000] ?? 0) ^ 1;
    const { client } = await blobServer((_n, _req, res) => res.end(tampered));
    const error = await read(client).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DigestMismatchError);
    expect((error as DigestMismatchError).expected).toBe(descriptor.digest);
    expect((error as DigestMismatchError).actual).toBe(digestOf(tampered));
    client.close();
  });

  it("holds back the last chunk until the digest is checked", async () => {
    const tampered = Buffer.from(blob);
    tampered[blob.length - 1] = (tampered[blob.length - 1] ?? 0) ^ 1;
    const { client } = await blobServer((_n, _req, res) => res.end(tampered));
    let received = 0;
    const stream = client.openBlob({ registry: clientHost, repository: "app" }, descriptor);
    stream.on("data", (chunk: Buffer) => {
      received += chunk.length;
    });
    await new Promise((resolve) => stream.on("error", resolve));
    expect(received).toBeLessThan(blob.length);
    client.close();
  });

  it("fails with BlobSizeMismatchError as soon as a blob runs past its size", async () => {
    const { client } = await blobServer((_n, _req, res) =>
      res.end(Buffer.concat([blob, Buffer.from("extra")])),
    );
    await expect(read(client)).rejects.toThrow(BlobSizeMismatchError);
    client.close();
  });

  it("fails with BlobSizeMismatchError when the blob is shorter than its descriptor says", async () => {
    const { client } = await blobServer((n, _req, res) => {
      if (n === 0) res.end(blob.subarray(0, 1000));
      else res.writeHead(416).end();
    });
    await expect(read(client)).rejects.toThrow(BlobSizeMismatchError);
    client.close();
  });

  it("gives up with RegistryUnavailableError when every try is dropped before any progress", async () => {
    const { client, served } = await blobServer((_n, _req, res) => cutAfter(res, 0));
    const error = await read(client).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryUnavailableError);
    expect((error as Error).message).toMatch(/download failed at byte 0 of 262144/);
    expect(served).toHaveLength(3);
    client.close();
  });

  it("resumes a download that stalls for longer than the idle timeout", async () => {
    const { client, served } = await blobServer(
      (n, req, res) => {
        if (n > 0) return serveRange(req, res);
        res.writeHead(200, { "content-length": String(blob.length) });
        res.write(blob.subarray(0, 100_000));
      },
      { timeouts: { idleMs: 150 } },
    );
    expect((await read(client)).equals(blob)).toBe(true);
    expect(served).toHaveLength(2);
    client.close();
  });

  it("gives up on a server that never answers, saying it timed out", async () => {
    const { client, served } = await blobServer(() => {}, { timeouts: { headersMs: 100 } });
    await expect(read(client)).rejects.toThrow(
      new RegExp(`unavailable after 3 attempts: .*no response from ${clientHost} in 100 ms$`),
    );
    expect(served).toHaveLength(3);
    client.close();
  });

  it("reports a missing blob without retrying", async () => {
    const { client, served } = await blobServer((_n, _req, res) => res.writeHead(404).end());
    await expect(read(client)).rejects.toThrow(BlobNotFoundError);
    expect(served).toHaveLength(1);
    client.close();
  });

  it("stops downloading when the consumer destroys the stream", async () => {
    let closed = false;
    const { client } = await blobServer((_n, req, res) => {
      req.socket.on("close", () => {
        closed = true;
      });
      res.writeHead(200, { "content-length": String(blob.length) });
      // Two writes apart, so that one chunk gets past the one held back for verification.
      res.write(blob.subarray(0, 1000));
      setTimeout(() => res.write(blob.subarray(1000, 2000)), 20);
    });
    const stream = client.openBlob({ registry: clientHost, repository: "app" }, descriptor);
    stream.on("error", () => {});
    await new Promise((resolve) => stream.once("data", resolve));
    stream.destroy();
    await expect.poll(() => closed).toBe(true);
    client.close();
  });
});
