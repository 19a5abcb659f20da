/**
 * Serving handler objects over gRPC on a unix socket. Handlers are plain async functions from request
 * to response; this module adapts them to grpc-js, maps thrown errors to gRPC statuses and logs one
 * line per call (method, volume, result code, duration).
 */

import { lstat, mkdir, rm } from "node:fs/promises";
import { dirname } from "node:path";
import {
  Server,
  ServerCredentials,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { toStatus } from "./errors.ts";
import type { Logger } from "./log.ts";

/** Method name → async handler. Each handler receives the decoded request of its method. */
export type UnaryHandlers = { [method: string]: (request: never) => Promise<object> };

export type ServiceBinding = {
  definition: ServiceDefinition;
  handlers: UnaryHandlers;
};

export type RunningServer = {
  socketPath: string;
  /** Stops accepting calls, waits up to `graceMs` for calls in flight, and removes the socket. */
  close(graceMs?: number): Promise<void>;
};

type Fields = Record<string, unknown>;

/** The volume a call is about, for the log line: from the request or, for CreateVolume, the response. */
function volumeFields(request: Fields, response: Fields | undefined): Fields {
  const volume = response?.volume as Fields | undefined;
  return {
    volume_id: request.volume_id || volume?.volume_id || undefined,
    name: typeof request.name === "string" && request.name !== "" ? request.name : undefined,
  };
}

function adapt(binding: ServiceBinding, log: Logger): UntypedServiceImplementation {
  const implementation: UntypedServiceImplementation = {};
  for (const name of Object.keys(binding.definition)) {
    const handler = binding.handlers[name];
    if (!handler) continue; // grpc-js answers UNIMPLEMENTED for methods without a handler.
    implementation[name] = (
      call: { request: Fields },
      callback: (error: object | null, value?: object) => void,
    ) => {
      const started = performance.now();
      const ms = () => Math.round((performance.now() - started) * 10) / 10;
      Promise.resolve()
        .then(() => handler(call.request as never))
        .then(
          (response) => {
            log.info("grpc", {
              method: name,
              ...volumeFields(call.request, response as Fields),
              code: "OK",
              ms: ms(),
            });
            callback(null, response);
          },
          (error: unknown) => {
            const status = toStatus(error);
            const level = status.codeName === "INTERNAL" || status.codeName === "UNKNOWN" ? "error" : "warn";
            log[level]("grpc", {
              method: name,
              ...volumeFields(call.request, undefined),
              code: status.codeName,
              error: status.details,
              ms: ms(),
            });
            callback({ code: status.code, details: status.details });
          },
        );
    };
  }
  return implementation;
}

/** Removes a stale socket left by an earlier run; refuses to remove anything that is not a socket. */
async function clearSocket(socketPath: string): Promise<void> {
  await mkdir(dirname(socketPath), { recursive: true });
  try {
    const stats = await lstat(socketPath);
    if (!stats.isSocket())
      throw new Error(`${socketPath} exists and is not a socket; refusing to replace it`);
    await rm(socketPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}

/** Serves `bindings` on the unix socket `socketPath`. */
export async function serve(
  socketPath: string,
  bindings: readonly ServiceBinding[],
  log: Logger,
): Promise<RunningServer> {
  await clearSocket(socketPath);
  const server = new Server();
  for (const binding of bindings) server.addService(binding.definition, adapt(binding, log));
  await new Promise<void>((resolve, reject) => {
    server.bindAsync(`unix:${socketPath}`, ServerCredentials.createInsecure(), (error) =>
      error ? reject(error) : resolve(),
    );
  });
  return {
    socketPath,
    async close(graceMs = 5_000) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      await rm(socketPath, { force: true });
    },
  };
}
