import { constants } from "node:fs";
import { type FileHandle, lstat, mkdir, open, rm, unlink } from "node:fs/promises";
import path from "node:path";
import { Server, type ServerUnaryCall, type ServiceError, type sendUnaryData, status } from "@grpc/grpc-js";
import { backendError, type GrpcCode } from "./backend-error.ts";
import { serverCredentials } from "./credentials.ts";
import { type BackendEndpoint, describeEndpoint, grpcAddress, type MutualTls } from "./endpoint.ts";
import {
  GetBackendInfoResponse,
  Operation,
  type PopulateRequest,
  type PopulatorBackendServer,
  PopulatorBackendService,
} from "./protocol.ts";

/** Thrown by a {@link BackendImplementation} to answer with a gRPC status instead of a result. */
export class BackendRpcError extends Error {
  override name = "BackendRpcError";
  readonly code: GrpcCode;
  readonly reason: string;
  readonly field: string | undefined;

  constructor(code: GrpcCode, reason: string, message: string, field?: string) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.field = field;
  }
}

/**
 * A fast-path backend written in TypeScript: the protocol's four calls as async functions. Anything
 * thrown other than a {@link BackendRpcError} becomes INTERNAL with its message.
 */
export interface BackendImplementation {
  getBackendInfo(): Promise<Partial<GetBackendInfoResponse>> | Partial<GetBackendInfoResponse>;
  populate(request: PopulateRequest): Promise<Partial<Operation>>;
  getOperation(operationId: string): Promise<Partial<Operation>>;
  cancelOperation(operationId: string): Promise<void>;
}

export interface ServeBackendOptions {
  readonly endpoint: BackendEndpoint;
  /** Required for TCP; client certificates are then required too. */
  readonly tls?: MutualTls | undefined;
  /** Told about every call that ended in an error, for the backend's log. */
  readonly onError?: (method: string, error: unknown) => void;
}

export interface ServingBackend {
  /** Where it listens (the port is the bound one when 0 was asked for). */
  readonly endpoint: BackendEndpoint;
  /** Stops accepting calls, waits up to `graceMs` for calls in flight, then closes. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Serves a backend implementation on a unix socket (created 0600 in a 0700 directory owned by this
 * process, so only the same user, typically root on the node, can connect) or on TCP with mutual TLS.
 * Call it on the main thread: it narrows the process umask for the bind, which worker threads cannot.
 *
 * Nothing about the socket follows a symlink. Its directory is made 0700 if missing; an existing one
 * must be a real directory owned by this process's user (a symlink or another user's is refused) and
 * is given mode 0700 through a descriptor, before anything is created in it. At the socket path, a
 * socket or file a previous run left is removed (unlinking never follows); a symlink or a directory
 * is refused. The socket gets its mode from the umask at bind, never from a chmod by name.
 */
export async function serveBackend(
  implementation: BackendImplementation,
  options: ServeBackendOptions,
): Promise<ServingBackend> {
  const { endpoint } = options;
  const server = new Server({ "grpc.max_receive_message_length": 2 * 1024 * 1024 });
  const unary =
    <Request, Response>(method: string, handler: (request: Request) => Promise<Response>) =>
    (call: ServerUnaryCall<Request, Response>, callback: sendUnaryData<Response>) => {
      handler(call.request).then(
        (response) => callback(null, response),
        (error: unknown) => {
          options.onError?.(method, error);
          callback(toServiceError(error) as ServiceError, null);
        },
      );
    };
  const handlers: PopulatorBackendServer = {
    getBackendInfo: unary("GetBackendInfo", async () =>
      GetBackendInfoResponse.fromPartial(await implementation.getBackendInfo()),
    ),
    populate: unary("Populate", async (request: PopulateRequest) => ({
      operation: Operation.fromPartial(await implementation.populate(request)),
    })),
    getOperation: unary("GetOperation", async (request: { operationId: string }) => ({
      operation: Operation.fromPartial(await implementation.getOperation(request.operationId)),
    })),
    cancelOperation: unary("CancelOperation", async (request: { operationId: string }) => {
      await implementation.cancelOperation(request.operationId);
      return {};
    }),
  };
  server.addService(PopulatorBackendService, handlers);

  if (endpoint.transport === "unix") await prepareSocketPath(endpoint.path, describeEndpoint(endpoint));
  const credentials = serverCredentials(endpoint, options.tls);
  // The socket is created with the process umask: narrow it for the bind so the socket is never,
  // even for a moment, connectable by others (the directory may be a shared, world-readable one).
  const umask = endpoint.transport === "unix" ? process.umask(0o177) : undefined;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(grpcAddress(endpoint), credentials, (error, bound) =>
      error
        ? reject(new Error(`cannot listen on ${describeEndpoint(endpoint)}: ${error.message}`))
        : resolve(bound),
    ),
  ).finally(() => {
    if (umask !== undefined) process.umask(umask);
  });
  const bound: BackendEndpoint = endpoint.transport === "tcp" ? { ...endpoint, port } : endpoint;
  return {
    endpoint: bound,
    async stop(graceMs = 5000): Promise<void> {
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
      if (endpoint.transport === "unix") await rm(endpoint.path, { force: true });
    },
  };
}

/**
 * Makes `socketPath`'s directory private (0700, ours) and clears the way for bind; see
 * {@link serveBackend}. Throws naming `where` when something there is not ours to use.
 */
async function prepareSocketPath(socketPath: string, where: string): Promise<void> {
  const refuse = (why: string) => new Error(`cannot listen on ${where}: ${why}`);
  const directory = path.dirname(socketPath);
  await mkdir(path.dirname(directory), { recursive: true });
  await mkdir(directory, { mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "EEXIST") throw error;
  });
  let handle: FileHandle;
  try {
    handle = await open(directory, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "ELOOP" && code !== "ENOTDIR") throw error;
    // Linux answers ENOTDIR for a symlink opened with O_DIRECTORY | O_NOFOLLOW: look at what it is.
    const symlink = (await lstat(directory).catch(() => undefined))?.isSymbolicLink();
    throw refuse(
      symlink ? "its directory is a symlink, which is never followed" : "its directory is not a directory",
    );
  }
  try {
    const stats = await handle.stat();
    const uid = process.getuid?.();
    if (uid !== undefined && stats.uid !== uid) {
      throw refuse(`its directory belongs to uid ${stats.uid}, not to this process (uid ${uid})`);
    }
    if ((stats.mode & 0o7777) !== 0o700) await handle.chmod(0o700);
  } finally {
    await handle.close();
  }
  // A socket left by a previous run would make bind fail with EADDRINUSE.
  const existing = await lstat(socketPath).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  if (existing?.isSymbolicLink()) throw refuse("it is a symlink, which is never followed or removed");
  if (existing?.isDirectory()) throw refuse("it is a directory");
  if (existing !== undefined) await unlink(socketPath);
}

function toServiceError(error: unknown): Partial<ServiceError> {
  if (error instanceof BackendRpcError) {
    return backendError(error.code, error.message, {
      reason: error.reason,
      ...(error.field ? { field: error.field } : {}),
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return backendError(status.INTERNAL, message, { reason: "Internal" });
}
