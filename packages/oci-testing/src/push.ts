/**
 * The push side of the distribution API, just enough to seed test registries: blobs by monolithic
 * upload (POST, then PUT `?digest=`) or streamed (POST, PATCH with a chunked body, PUT), skipping
 * blobs the registry already has; manifests by PUT. Authenticates like the pull client (it shares
 * its HTTP layer), asking for `pull,push`.
 */
import type { Readable } from "node:stream";
import {
  type CredentialPolicy,
  createNodeTransport,
  discardBody,
  errorDetail,
  type HttpResponse,
  RegistryHttp,
  RegistryResponseError,
  type Transport,
} from "@volpop/oci";

/** A registry to push to. */
export interface PushTarget {
  /** Host and port, as in image references: `127.0.0.1:5000`. */
  readonly registry: string;
  /** Speak plain HTTP. */
  readonly insecure?: boolean;
  /** CA that signed the registry's certificate, if not a public one. */
  readonly caPem?: string;
  readonly username?: string;
  readonly password?: string;
  /** Where the credentials may go beyond the registry over TLS (plain HTTP, a token server). */
  readonly credentialPolicy?: CredentialPolicy;
}

export class RegistryPusher {
  readonly #target: PushTarget;
  readonly #transport: Required<Transport>;
  readonly #http: RegistryHttp;

  constructor(target: PushTarget) {
    this.#target = target;
    this.#transport = createNodeTransport({
      ...(target.caPem === undefined ? {} : { caCertificates: [target.caPem] }),
      headersTimeoutMs: 30_000,
      idleTimeoutMs: 60_000,
    });
    const { username, password } = target;
    this.#http = new RegistryHttp({
      transport: this.#transport,
      credentials: () => (username === undefined ? undefined : { username, password: password ?? "" }),
      insecureRegistries: new Set(target.insecure ? [target.registry] : []),
      credentialPolicy: target.credentialPolicy,
      retry: { attempts: 3, initialDelayMs: 100, maxDelayMs: 1000 },
      log: () => {},
    });
  }

  /** Whether the repository already holds the blob. */
  async hasBlob(repository: string, digest: string): Promise<boolean> {
    const response = await this.#send(
      repository,
      "HEAD",
      `/v2/${repository}/blobs/${digest}`,
      `blob ${digest}`,
    );
    discardBody(response);
    return response.status === 200;
  }

  /** Uploads a blob held in memory, unless the registry has it already. */
  async pushBlob(repository: string, digest: string, bytes: Uint8Array): Promise<void> {
    if (await this.hasBlob(repository, digest)) return;
    const location = await this.#startUpload(repository);
    location.searchParams.set("digest", digest);
    const response = await this.#send(repository, "PUT", location, `upload of ${digest}`, {
      headers: { "content-type": "application/octet-stream" },
      body: bytes,
    });
    await expectStatus(response, 201, `upload of ${digest}`);
  }

  /**
   * Uploads a blob as it is produced; `digest` is asked for once the stream has ended, so it can
   * be computed on the way. Nothing is held in memory, and nothing is skipped.
   */
  async pushBlobStream(repository: string, body: Readable, digest: () => string): Promise<void> {
    const start = await this.#startUpload(repository);
    const patched = await this.#send(repository, "PATCH", start, "streamed upload", {
      headers: { "content-type": "application/octet-stream" },
      body,
    });
    await expectStatus(patched, 202, "streamed upload");
    const location = new URL(patched.headers.location ?? start.href, start);
    location.searchParams.set("digest", digest());
    const response = await this.#send(repository, "PUT", location, `upload of ${digest()}`, {});
    await expectStatus(response, 201, `upload of ${digest()}`);
  }

  /** Puts a manifest (or index) under a tag or its digest. */
  async pushManifest(
    repository: string,
    reference: string,
    mediaType: string,
    bytes: Uint8Array,
  ): Promise<void> {
    const what = `manifest ${repository}:${reference}`;
    const response = await this.#send(repository, "PUT", `/v2/${repository}/manifests/${reference}`, what, {
      headers: { "content-type": mediaType },
      body: bytes,
    });
    await expectStatus(response, 201, what);
  }

  close(): void {
    this.#transport.close();
  }

  async #startUpload(repository: string): Promise<URL> {
    const response = await this.#send(
      repository,
      "POST",
      `/v2/${repository}/blobs/uploads/`,
      "upload start",
      {},
    );
    const location = response.headers.location;
    await expectStatus(response, 202, "upload start");
    if (location === undefined) throw new RegistryResponseError("upload start", 202, "no Location header");
    return new URL(location, `${this.#target.insecure ? "http" : "https"}://${this.#target.registry}`);
  }

  #send(
    repository: string,
    method: "HEAD" | "POST" | "PUT" | "PATCH",
    target: string | URL,
    what: string,
    extra: { headers?: Record<string, string>; body?: Uint8Array | Readable } = {},
  ): Promise<HttpResponse> {
    return this.#http.send({
      registry: this.#target.registry,
      method,
      target,
      scope: `repository:${repository}:pull,push`,
      what,
      ...extra,
    });
  }
}

async function expectStatus(response: HttpResponse, status: number, what: string): Promise<void> {
  if (response.status === status) {
    discardBody(response);
    return;
  }
  throw new RegistryResponseError(what, response.status, await errorDetail(response, ""));
}
