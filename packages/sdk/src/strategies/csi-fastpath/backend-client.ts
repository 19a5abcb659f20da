import { setTimeout as sleep } from "node:timers/promises";
import { type ClientOptions, connectivityState, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { VolpopError } from "../../errors.ts";
import { errorDetailOf, grpcCodeName } from "./backend-error.ts";
import { clientCredentials } from "./credentials.ts";
import { type BackendEndpoint, describeEndpoint, grpcAddress, type MutualTls } from "./endpoint.ts";
import {
  type GetBackendInfoResponse,
  type Operation,
  type PopulateRequest,
  PopulatorBackendClient,
} from "./protocol.ts";

/** A backend call that ended in a gRPC error; `code` is `FASTPATH_<STATUS>` (e.g. `FASTPATH_UNAVAILABLE`). */
export class BackendCallError extends VolpopError {
  override name = "BackendCallError";
  /** The gRPC status code. */
  readonly grpcCode: number;
  /** The backend's machine-readable reason (ErrorDetail), if it sent one. */
  readonly reason: string | undefined;
  /** The request field at fault, if the backend named one. */
  readonly field: string | undefined;
  /** What the backend said, without the call and endpoint around it: for users' events. */
  readonly details: string;

  constructor(method: string, endpoint: string, error: ServiceError) {
    const detail = errorDetailOf(error);
    super(
      `FASTPATH_${grpcCodeName(error.code)}`,
      `${method} on fast-path backend ${endpoint}: ${grpcCodeName(error.code)}: ${error.details || error.message}`,
      { cause: error },
    );
    this.grpcCode = error.code;
    this.details = error.details || error.message;
    this.reason = detail?.reason || undefined;
    this.field = detail?.field || undefined;
  }
}

export interface BackendClientOptions {
  readonly endpoint: BackendEndpoint;
  /** Required for TCP endpoints. */
  readonly tls?: MutualTls | undefined;
  /** Deadline of each call. Default 10 s: calls only start or inspect work, they never carry data. */
  readonly callTimeoutMs?: number;
  /** Tries of a call answered UNAVAILABLE (backend restarting, socket not there yet). Default 4. */
  readonly attempts?: number;
  /**
   * Wait before the second try; doubles each time, capped at 2 s. Default 200 ms. Cut short when the
   * channel reconnects meanwhile.
   */
  readonly retryBaseDelayMs?: number;
  /** Told about every finished try: for the backend call latency metric. */
  readonly onCall?: (method: string, code: string, seconds: number) => void;
}

const DEFAULT_RETRY_BASE_DELAY_MS = 200;
const MAX_RETRY_DELAY_MS = 2000;

/**
 * The controller's side of the fast-path protocol: promise-returning calls with a deadline each,
 * retries of UNAVAILABLE with backoff, and keepalive so a dead backend is noticed between calls.
 */
export class BackendClient {
  readonly endpoint: string;
  readonly #client: PopulatorBackendClient;
  readonly #options: BackendClientOptions;

  constructor(options: BackendClientOptions) {
    this.#options = options;
    this.endpoint = describeEndpoint(options.endpoint);
    const channelOptions: ClientOptions = {
      // gRPC waits out its own reconnect backoff (1 s and up by default) before it dials again, failing
      // calls at once meanwhile: keep it in step with the retries below, or they would never reach a
      // backend that came up in between.
      "grpc.initial_reconnect_backoff_ms": options.retryBaseDelayMs ?? DEFAULT_RETRY_BASE_DELAY_MS,
      "grpc.max_reconnect_backoff_ms": MAX_RETRY_DELAY_MS,
      // grpc-go servers refuse pings more often than every 5 minutes by default (GOAWAY
      // "too_many_pings"), and most backends will be Go: ping no faster, and only during calls,
      // which have their own deadlines anyway.
      "grpc.keepalive_time_ms": 300_000,
      "grpc.keepalive_timeout_ms": 20_000,
      "grpc.keepalive_permit_without_calls": 0,
      // Our own retry loop below; gRPC's transparent retries would hide attempts from the metric.
      "grpc.enable_retries": 0,
    };
    this.#client = new PopulatorBackendClient(
      grpcAddress(options.endpoint),
      clientCredentials(options.endpoint, options.tls),
      channelOptions,
    );
  }

  getBackendInfo(): Promise<GetBackendInfoResponse> {
    return this.#call("GetBackendInfo", (metadata, deadline, done) =>
      this.#client.getBackendInfo({}, metadata, { deadline }, done),
    );
  }

  async populate(request: PopulateRequest): Promise<Operation> {
    const response = await this.#call<{ operation?: Operation | undefined }>(
      "Populate",
      (metadata, deadline, done) => this.#client.populate(request, metadata, { deadline }, done),
    );
    return this.#operationOf("Populate", response.operation);
  }

  async getOperation(operationId: string): Promise<Operation> {
    const response = await this.#call<{ operation?: Operation | undefined }>(
      "GetOperation",
      (metadata, deadline, done) => this.#client.getOperation({ operationId }, metadata, { deadline }, done),
    );
    return this.#operationOf("GetOperation", response.operation);
  }

  async cancelOperation(operationId: string): Promise<void> {
    await this.#call("CancelOperation", (metadata, deadline, done) =>
      this.#client.cancelOperation({ operationId }, metadata, { deadline }, done),
    );
  }

  close(): void {
    this.#client.close();
  }

  #operationOf(method: string, operation: Operation | undefined): Operation {
    if (operation) return operation;
    throw new VolpopError(
      "FASTPATH_PROTOCOL",
      `${method} on fast-path backend ${this.endpoint} returned no operation`,
    );
  }

  async #call<Response>(
    method: string,
    start: (
      metadata: Metadata,
      deadline: Date,
      done: (error: ServiceError | null, response: Response) => void,
    ) => unknown,
  ): Promise<Response> {
    const attempts = Math.max(1, this.#options.attempts ?? 4);
    const baseDelay = this.#options.retryBaseDelayMs ?? DEFAULT_RETRY_BASE_DELAY_MS;
    for (let attempt = 1; ; attempt++) {
      const begun = performance.now();
      const deadline = new Date(Date.now() + (this.#options.callTimeoutMs ?? 10_000));
      try {
        const response = await new Promise<Response>((resolve, reject) =>
          start(new Metadata(), deadline, (error, response) => (error ? reject(error) : resolve(response))),
        );
        this.#options.onCall?.(method, "OK", (performance.now() - begun) / 1000);
        return response;
      } catch (thrown) {
        const error = thrown as ServiceError;
        this.#options.onCall?.(method, grpcCodeName(error.code), (performance.now() - begun) / 1000);
        if (error.code !== status.UNAVAILABLE || attempt >= attempts) {
          throw new BackendCallError(method, this.endpoint, error);
        }
        await this.#pause(Math.min(MAX_RETRY_DELAY_MS, baseDelay * 2 ** (attempt - 1)));
      }
    }
  }

  // A channel in TRANSIENT_FAILURE fails calls at once, without dialling, until its own reconnect
  // backoff ends: a retry made then is wasted. So while it is, retry as soon as it connects again.
  #pause(ms: number): Promise<void> {
    const channel = this.#client.getChannel();
    if (channel.getConnectivityState(false) !== connectivityState.TRANSIENT_FAILURE) return sleep(ms);
    return new Promise((resolve) =>
      channel.watchConnectivityState(connectivityState.TRANSIENT_FAILURE, Date.now() + ms, () => resolve()),
    );
  }
}
