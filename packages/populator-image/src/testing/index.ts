/**
 * Test support for code that pulls images: an image writer that pushes to any registry, a real
 * local registry (with TLS, Basic or Bearer auth) and a proxy that breaks connections on command.
 * Not part of the package's main entry: import it from tests only.
 */
export {
  createServerCertificates,
  createSigningCertificate,
  type ServerCertificates,
  type SigningCertificate,
} from "./certificates.ts";
export { type FaultProxy, startFaultProxy } from "./fault-proxy.ts";
export { htpasswdLine } from "./htpasswd.ts";
export {
  type Compression,
  type ImageSpec,
  type LayerSpec,
  layerMediaType,
  type WrittenImage,
  type WrittenLayer,
  type WrittenManifest,
  writeImage,
} from "./image-writer.ts";
export { type LocalRegistry, type LocalRegistryOptions, startLocalRegistry } from "./local-registry.ts";
export { type PushTarget, RegistryPusher } from "./push.ts";
export { randomBytes, randomBytesStream } from "./random-bytes.ts";
export { type RandomImageOptions, randomImage } from "./random-image.ts";
export {
  type RecordedRequest,
  type ScriptedResponse,
  type ScriptedTransport,
  scriptedTransport,
} from "./scripted-transport.ts";
export { startTokenServer, type TokenServer, type TokenServerOptions } from "./token-server.ts";
export {
  type EntryAttributes,
  type RandomContent,
  type RawHeader,
  type TreeEntry,
  tarBytes,
  tarStream,
} from "./tree.ts";
