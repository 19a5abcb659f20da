import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Metadata } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../errors.ts";
import { backendError, errorDetailOf, GrpcCode, grpcCodeName } from "./backend-error.ts";
import { clientCredentials, serverCredentials } from "./credentials.ts";
import {
  type BackendEndpoint,
  describeEndpoint,
  grpcAddress,
  parseEndpoint,
  readMutualTls,
} from "./endpoint.ts";
import { ERROR_DETAIL_METADATA_KEY } from "./protocol.ts";

describe("parseEndpoint", () => {
  it.each<[string, BackendEndpoint, string]>([
    [
      "unix:///run/volpop/backend.sock",
      { transport: "unix", path: "/run/volpop/backend.sock" },
      "unix:///run/volpop/backend.sock",
    ],
    [
      "unix:/run/volpop/backend.sock",
      { transport: "unix", path: "/run/volpop/backend.sock" },
      "unix:///run/volpop/backend.sock",
    ],
    [
      "/run/volpop/backend.sock",
      { transport: "unix", path: "/run/volpop/backend.sock" },
      "unix:///run/volpop/backend.sock",
    ],
    ["  unix:///run/b.sock\n", { transport: "unix", path: "/run/b.sock" }, "unix:///run/b.sock"],
    [
      "backend.storage.svc:7443",
      { transport: "tcp", host: "backend.storage.svc", port: 7443 },
      "backend.storage.svc:7443",
    ],
    ["dns:///backend:7443", { transport: "tcp", host: "backend", port: 7443 }, "backend:7443"],
    ["dns:backend:1", { transport: "tcp", host: "backend", port: 1 }, "backend:1"],
    ["10.0.0.7:65535", { transport: "tcp", host: "10.0.0.7", port: 65535 }, "10.0.0.7:65535"],
    ["[fd00::7]:7443", { transport: "tcp", host: "[fd00::7]", port: 7443 }, "[fd00::7]:7443"],
  ])("reads %j", (text, endpoint, described) => {
    expect(parseEndpoint(text)).toEqual(endpoint);
    expect(describeEndpoint(endpoint)).toBe(described);
    expect(grpcAddress(endpoint)).toBe(described);
  });

  it.each([
    "",
    "backend.sock",
    "unix:backend.sock",
    "backend",
    "backend:0",
    "backend:65536",
    "backend:http",
    "https://backend:7443",
    "backend:7443/path",
    "fd00::7:7443",
  ])("refuses %j with a configuration error", (text) => {
    expect(() => parseEndpoint(text)).toThrow(ConfigError);
    expect(() => parseEndpoint(text)).toThrow(`fast-path endpoint ${JSON.stringify(text)} is neither`);
  });
});

describe("credentials", () => {
  const unix: BackendEndpoint = { transport: "unix", path: "/run/b.sock" };
  const tcp: BackendEndpoint = { transport: "tcp", host: "backend", port: 7443 };

  it("need no TLS on a unix socket, whose file mode is the access control", () => {
    expect(clientCredentials(unix, undefined)._isSecure()).toBe(false);
    expect(serverCredentials(unix, undefined)._isSecure()).toBe(false);
  });

  it("refuse TCP without mutual TLS on both sides", () => {
    expect(() => clientCredentials(tcp, undefined)).toThrow(ConfigError);
    expect(() => clientCredentials(tcp, undefined)).toThrow("backend:7443 is TCP: give it mutual TLS");
    expect(() => serverCredentials(tcp, undefined)).toThrow(ConfigError);
  });
});

describe("readMutualTls", () => {
  it("reads ca.crt, tls.crt and tls.key from a mounted Secret's directory", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "volpop-tls-"));
    try {
      for (const name of ["ca.crt", "tls.crt", "tls.key"])
        writeFileSync(path.join(dir, name), `pem of ${name}`);
      expect(readMutualTls(dir)).toEqual({
        ca: "pem of ca.crt",
        cert: "pem of tls.crt",
        key: "pem of tls.key",
      });
      rmSync(path.join(dir, "tls.key"));
      expect(() => readMutualTls(dir)).toThrow(ConfigError);
      expect(() => readMutualTls(dir)).toThrow(`cannot read tls.key for fast-path mutual TLS from ${dir}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("backend errors", () => {
  it.each<[number, string]>([
    [GrpcCode.OK, "OK"],
    [GrpcCode.UNAVAILABLE, "UNAVAILABLE"],
    [GrpcCode.INVALID_ARGUMENT, "INVALID_ARGUMENT"],
    [99, "99"],
  ])("names status code %d %s", (code, name) => {
    expect(grpcCodeName(code)).toBe(name);
  });

  it("carries the reason and the field in trailing metadata, and reads them back", () => {
    const error = backendError(GrpcCode.NOT_FOUND, "no such volume", {
      reason: "VolumeNotFound",
      field: "volume_handle",
    });
    expect(error).toMatchObject({ code: GrpcCode.NOT_FOUND, details: "no such volume" });
    expect(errorDetailOf(error)).toEqual({ reason: "VolumeNotFound", field: "volume_handle" });
  });

  it.each<[string, Metadata | undefined]>([
    ["no metadata", undefined],
    ["metadata without a detail", new Metadata()],
    [
      "a detail that is not an ErrorDetail",
      (() => {
        const metadata = new Metadata();
        metadata.set(ERROR_DETAIL_METADATA_KEY, Buffer.from([0xff, 0xff, 0xff]));
        return metadata;
      })(),
    ],
  ])("finds no detail in an error with %s", (_, metadata) => {
    expect(errorDetailOf({ metadata })).toBeUndefined();
    expect(errorDetailOf(backendError(GrpcCode.INTERNAL, "x"))).toBeUndefined();
  });
});
