/**
 * A transport that answers from a function instead of the network, recording every request: for
 * unit tests of the client's protocol handling (auth, redirects, retries) without a registry.
 */
import type { Readable } from "node:stream";
import { bodyOf, type HttpRequest, type HttpResponse, type Transport } from "@volpop/oci";

/** What a scripted handler answers: a status, optional headers, an optional body. */
export interface ScriptedResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array | Readable;
}

/** A request as recorded: method, URL and lower-cased headers. */
export interface RecordedRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
}

export interface ScriptedTransport extends Transport {
  readonly requests: readonly RecordedRequest[];
}

/** Answers each request with `handler`'s response, or rejects with what it throws. */
export function scriptedTransport(
  handler: (request: RecordedRequest) => ScriptedResponse | Promise<ScriptedResponse>,
): ScriptedTransport {
  const requests: RecordedRequest[] = [];
  return {
    requests,
    async request(request: HttpRequest): Promise<HttpResponse> {
      const headers = Object.fromEntries(
        Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]),
      );
      const recorded = { method: request.method, url: request.url, headers };
      requests.push(recorded);
      const answer = await handler(recorded);
      const body = answer.body;
      return {
        status: answer.status,
        headers: Object.fromEntries(
          Object.entries(answer.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
        ),
        body:
          body === undefined || typeof body === "string" || body instanceof Uint8Array ? bodyOf(body) : body,
      };
    },
  };
}
