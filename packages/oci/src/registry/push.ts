/**
 * The push side of the distribution API, enough to seed test registries and to attach artifacts
 * (SBOMs) to released images: blobs by monolithic
 * upload (POST, then PUT `?digest=`) or streamed (POST, PATCH with a chunked body, PUT), skipping
 * blobs the registry already has; manifests by PUT. Authenticates like the pull client (it shares
 * its HTTP layer), asking for `pull,push`.
 */
import type { Readable } from "node:stream";
import type { RegistryCredentials } from "./docker-config.ts";
import { ManifestTooLargeError, RegistryResponseError } from "./errors.ts";
import { errorDetail, RegistryHttp } from "./http.ts";
import type { CredentialPolicy } from "./options.ts";
import {
  createNodeTransport,
  discardBody,
  type HttpResponse,
  readBody,
  type Transport,
} from "./transport.ts";

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
  /** Credentials as a docker config holds them (token forms included); wins over `username`/`password`. */
  readonly credentials?: RegistryCredentials;
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
      credentials: () =>
        target.credentials ?? (username === undefined ? undefined : { username, password: password ?? "" }),
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

  /**
   * A manifest's bytes and media type, or undefined when the registry has none under `reference`
   * (a tag or a digest). `accept` lists the media types asked for.
   */
  async getManifest(
    repository: string,
    reference: string,
    accept: readonly string[],
  ): Promise<{ readonly mediaType: string; readonly bytes: Uint8Array } | undefined> {
    const what = `manifest ${repository}:${reference}`;
    const response = await this.#send(repository, "GET", `/v2/${repository}/manifests/${reference}`, what, {
      headers: { accept: accept.join(", ") },
    });
    if (response.status === 404) {
      discardBody(response);
      return undefined;
    }
    if (response.status !== 200)
      throw new RegistryResponseError(what, response.status, await errorDetail(response, ""));
    const limit = 4 * 1024 * 1024;
    const bytes = await readBody(response.body, limit, () => new ManifestTooLargeError(what, limit));
    return { mediaType: response.headers["content-type"] ?? "", bytes };
  }

  /**
   * Puts a manifest under its digest and answers whether the registry says it serves the referrers
   * API for its `subject` (the `OCI-Subject` header of OCI distribution 1.1).
   */
  async pushReferrer(
    repository: string,
    digest: string,
    mediaType: string,
    bytes: Uint8Array,
  ): Promise<boolean> {
    const what = `manifest ${repository}@${digest}`;
    const response = await this.#send(repository, "PUT", `/v2/${repository}/manifests/${digest}`, what, {
      headers: { "content-type": mediaType },
      body: bytes,
    });
    const subject = response.headers["oci-subject"];
    await expectStatus(response, 201, what);
    return subject !== undefined;
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
    method: "GET" | "HEAD" | "POST" | "PUT" | "PATCH",
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
