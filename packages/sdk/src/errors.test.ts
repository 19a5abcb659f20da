import { describe, expect, it } from "vitest";
import {
  ApiError,
  ConfigError,
  ErrorCode,
  isAlreadyExists,
  isConflict,
  isNotFound,
  SourceInvalidError,
  TerminalError,
  TransientError,
  toVolpopError,
  VolpopError,
} from "./errors.ts";

// The shape @kubernetes/client-node 1.x throws, without importing it.
class FakeApiException extends Error {
  readonly code: number;
  readonly body: unknown;
  readonly headers: Record<string, string> = {};
  constructor(code: number, body: unknown) {
    super(`HTTP-Code: ${code}\nMessage: Unknown API Status Code!\nBody: ${JSON.stringify(body)}`);
    this.code = code;
    this.body = body;
  }
}

function status(code: number, reason: string, message = `${reason.toLowerCase()} happened`) {
  return { kind: "Status", apiVersion: "v1", status: "Failure", message, reason, code };
}

function systemError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`connect ${code} 10.0.0.1:443`), { code, errno: -111, syscall: "connect" });
}

describe("error classes", () => {
  it.each([
    { make: () => new ConfigError("bad flag"), type: ConfigError, code: "CONFIG", name: "ConfigError" },
    {
      make: () => new TerminalError("give up"),
      type: TerminalError,
      code: "TERMINAL",
      name: "TerminalError",
    },
    {
      make: () => new TransientError("later"),
      type: TransientError,
      code: "TRANSIENT",
      name: "TransientError",
    },
    {
      make: () => new SourceInvalidError(["spec.url is empty"]),
      type: SourceInvalidError,
      code: "SOURCE_INVALID",
      name: "SourceInvalidError",
    },
    { make: () => new ApiError(404, "NotFound", "gone"), type: ApiError, code: "API_404", name: "ApiError" },
  ])("$name has code $code and is a VolpopError and an Error", ({ make, type, code, name }) => {
    const error = make();
    expect(error).toBeInstanceOf(type);
    expect(error).toBeInstanceOf(VolpopError);
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe(code);
    expect(error.name).toBe(name);
    expect(String(error)).toMatch(new RegExp(`^${name}: `));
  });

  it("keeps the cause, and has none when not given one", () => {
    const cause = new Error("root");
    expect(new TerminalError("wrapped", { cause }).cause).toBe(cause);
    expect("cause" in new TerminalError("plain")).toBe(false);
  });

  it("lists every problem of an invalid source in its message", () => {
    const error = new SourceInvalidError(["spec.url is empty", "spec.size is negative"]);
    expect(error.problems).toEqual(["spec.url is empty", "spec.size is negative"]);
    expect(error.message).toBe("invalid data source: spec.url is empty; spec.size is negative");
  });

  it("names the codes of all classes in ErrorCode", () => {
    expect(ErrorCode).toMatchObject({
      Config: "CONFIG",
      SourceInvalid: "SOURCE_INVALID",
      Terminal: "TERMINAL",
      Transient: "TRANSIENT",
    });
  });
});

describe("toVolpopError", () => {
  it("returns a VolpopError as it is", () => {
    const error = new TerminalError("stop");
    expect(toVolpopError(error)).toBe(error);
  });

  it.each([
    { what: "a parsed Status body", body: status(404, "NotFound", 'pvcs "x" not found') },
    {
      what: "a Status body as JSON text",
      body: JSON.stringify(status(404, "NotFound", 'pvcs "x" not found')),
    },
  ])("maps a client-node ApiException with $what to ApiError with status and reason", ({ body }) => {
    const thrown = new FakeApiException(404, body);
    const error = toVolpopError(thrown);
    expect(error).toBeInstanceOf(ApiError);
    expect(error.code).toBe("API_404");
    expect((error as ApiError).status).toBe(404);
    expect((error as ApiError).reason).toBe("NotFound");
    expect(error.message).toBe('Kubernetes API 404 NotFound: pvcs "x" not found');
    expect(error.cause).toBe(thrown);
  });

  it("maps an API failure without a Status body, keeping the exception's message", () => {
    const error = toVolpopError(new FakeApiException(503, "<html>upstream down</html>"));
    expect(error).toBeInstanceOf(ApiError);
    expect(error.code).toBe("API_503");
    expect((error as ApiError).reason).toBeUndefined();
    expect(error.message).toMatch(/^Kubernetes API 503: HTTP-Code: 503/);
  });

  it("recognises the older client-node HttpError shape by statusCode", () => {
    const error = toVolpopError({ statusCode: 409, body: status(409, "Conflict") });
    expect(error.code).toBe("API_409");
  });

  it.each(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EAI_AGAIN", "UND_ERR_SOCKET"])(
    "maps the network error %s to TransientError",
    (code) => {
      const thrown = systemError(code);
      const error = toVolpopError(thrown);
      expect(error).toBeInstanceOf(TransientError);
      expect(error.message).toBe(`${code}: connect ${code} 10.0.0.1:443`);
      expect(error.cause).toBe(thrown);
    },
  );

  it("maps fetch's 'fetch failed' to TransientError when its cause is a network error", () => {
    const thrown = new TypeError("fetch failed", { cause: systemError("ECONNREFUSED") });
    const error = toVolpopError(thrown);
    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toBe("ECONNREFUSED: fetch failed");
  });

  it.each([
    { what: "a plain Error", thrown: new Error("boom"), message: "boom" },
    {
      what: "a non-network system error",
      thrown: systemError("EACCES"),
      message: "connect EACCES 10.0.0.1:443",
    },
    { what: "a string", thrown: "boom", message: "boom" },
    { what: "an object", thrown: { weird: true }, message: '{"weird":true}' },
    { what: "undefined", thrown: undefined, message: "undefined" },
    { what: "a numeric code outside HTTP", thrown: { code: 7, body: "" }, message: '{"code":7,"body":""}' },
  ])("wraps $what as UNKNOWN, keeping it as the cause", ({ thrown, message }) => {
    const error = toVolpopError(thrown);
    expect(error.constructor).toBe(VolpopError);
    expect(error.code).toBe("UNKNOWN");
    expect(error.message).toBe(message);
    expect(error.cause).toBe(thrown);
  });
});

describe("API error predicates", () => {
  const cases = [
    { what: "404 NotFound", thrown: new FakeApiException(404, status(404, "NotFound")), notFound: true },
    { what: "404 without a Status", thrown: new FakeApiException(404, ""), notFound: true },
    { what: "409 Conflict", thrown: new FakeApiException(409, status(409, "Conflict")), conflict: true },
    { what: "409 without a Status", thrown: new FakeApiException(409, "oops"), conflict: true },
    {
      what: "409 AlreadyExists",
      thrown: new FakeApiException(409, status(409, "AlreadyExists")),
      alreadyExists: true,
    },
    {
      what: "409 with reason Unknown",
      thrown: new FakeApiException(409, status(409, "Unknown")),
      conflict: true,
    },
    { what: "an ApiError made directly", thrown: new ApiError(404, undefined, "gone"), notFound: true },
    { what: "500 InternalError", thrown: new FakeApiException(500, status(500, "InternalError")) },
    { what: "a network error", thrown: systemError("ECONNREFUSED") },
    { what: "a plain Error", thrown: new Error("NotFound") },
  ];

  it.each(cases)(
    "classifies $what",
    ({ thrown, notFound = false, conflict = false, alreadyExists = false }) => {
      expect({
        notFound: isNotFound(thrown),
        conflict: isConflict(thrown),
        alreadyExists: isAlreadyExists(thrown),
      }).toEqual({ notFound, conflict, alreadyExists });
    },
  );
});
