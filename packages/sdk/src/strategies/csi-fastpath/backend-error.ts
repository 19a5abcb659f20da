import { Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { ERROR_DETAIL_METADATA_KEY, ErrorDetail } from "./protocol.ts";

/** gRPC status codes by name, for readable code and logs. */
export const GrpcCode = status;
export type GrpcCode = (typeof status)[keyof typeof status];

/** The name of a gRPC status code (`UNAVAILABLE`), for metrics labels and messages. */
export function grpcCodeName(code: number): string {
  return (
    (Object.entries(status).find(([, value]) => value === code)?.[0] as string | undefined) ?? String(code)
  );
}

/**
 * An RPC error a backend returns: a status code, a message for humans, and an optional detail
 * (machine-readable reason, field at fault) carried in trailing metadata.
 */
export function backendError(
  code: GrpcCode,
  message: string,
  detail?: { readonly reason: string; readonly field?: string },
): Partial<ServiceError> {
  const metadata = new Metadata();
  if (detail) {
    metadata.set(
      ERROR_DETAIL_METADATA_KEY,
      Buffer.from(ErrorDetail.encode(ErrorDetail.fromPartial(detail)).finish()),
    );
  }
  return { code, details: message, metadata };
}

/** The detail a backend attached to an RPC error, if any. */
export function errorDetailOf(error: { metadata?: Metadata | undefined }): ErrorDetail | undefined {
  const raw = error.metadata?.get(ERROR_DETAIL_METADATA_KEY)[0];
  if (!Buffer.isBuffer(raw)) return undefined;
  try {
    return ErrorDetail.decode(raw);
  } catch {
    return undefined;
  }
}
