/**
 * Test support for code that pulls images (private: never published): an image writer that pushes
 * to any registry, a real local registry (with TLS, Basic or Bearer auth) and its token server, a
 * proxy that breaks connections on command, scripted and recording HTTP peers, and layers both
 * honest and hostile (tar blocks written by hand, fast-check generators, Go's archive/tar as a
 * reference reader). Import it from tests, benchmarks and e2e suites only.
 */

// The pusher moved to @volpop/oci (the release tooling attaches SBOMs with it); still offered here.
export { type PushTarget, RegistryPusher } from "@volpop/oci";
export {
  createServerCertificates,
  createSigningCertificate,
  type ServerCertificates,
  type SigningCertificate,
} from "./certificates.ts";
export { type FaultProxy, startFaultProxy } from "./fault-proxy.ts";
export { chunked, compress, type GeneratedLayer, type LayerOptions, layerBlob } from "./hostile-layers.ts";
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
export {
  applyLayers,
  bombOf,
  type GuardedVolume,
  guardedVolume,
  makeTempDir,
  removeTempDir,
  SANDBOX_DEPTH,
  type SnapshotOptions,
  snapshotTree,
  TEST_MTIME,
  type TestEntry,
  tarOf,
} from "./layers.ts";
export { type LocalRegistry, type LocalRegistryOptions, startLocalRegistry } from "./local-registry.ts";
export { randomBytes, randomBytesStream } from "./random-bytes.ts";
export { type RandomImageOptions, randomImage } from "./random-image.ts";
export {
  type RecordingServer,
  type RecordingServerTls,
  type SeenRequest,
  startRecordingServer,
} from "./recording-server.ts";
export {
  type ReferenceReader,
  type ReferenceResult,
  referenceUnavailable,
  startReferenceReader,
} from "./reference-tar/reference-reader.ts";
export {
  type RecordedRequest,
  type ScriptedResponse,
  type ScriptedTransport,
  scriptedTransport,
} from "./scripted-transport.ts";
export {
  END_OF_ARCHIVE,
  entryBlocks,
  type HeaderFields,
  headerBlock,
  padded,
  paxBody,
  paxRecord,
} from "./tar-blocks.ts";
export { listEntries, READ_CASES, REFUSED_CASES, type ReadCase, type RefusedCase } from "./tar-cases.ts";
export { startTokenServer, type TokenServer, type TokenServerOptions } from "./token-server.ts";
export {
  type EntryAttributes,
  type RandomContent,
  type RawHeader,
  type TreeEntry,
  tarBytes,
  tarStream,
} from "./tree.ts";
