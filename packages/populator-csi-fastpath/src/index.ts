export { runBackendDaemon } from "./backend/daemon.ts";
export { type DaemonConfig, DEFAULT_BACKEND_ENDPOINT, parseDaemonArgs } from "./backend/daemon-flags.ts";
export {
  BACKEND_NAME,
  DEFAULT_DRIVER_NAME,
  HostpathBackend,
  type HostpathBackendOptions,
} from "./backend/hostpath-backend.ts";
export { RpcReason } from "./backend/reasons.ts";
export { probeReflink } from "./backend/reflink-probe.ts";
export { type FillBlockOptions, fillBlock } from "./copy/fill-block.ts";
export { type FillFilesystemOptions, fillFilesystem } from "./copy/fill-filesystem.ts";
export type { FillResult } from "./copy/fill-result.ts";
export { MARKER_NAME } from "./copy/marker.ts";
export { type FailureReason, PopulationFailure } from "./copy/population-failure.ts";
export type { CopyProgress } from "./copy/progress.ts";
export {
  BLOCK_IMAGE_SUFFIX,
  CONTENT_NAME_PATTERN,
  checkGoldenContentSpec,
  GOLDEN_CONTENT_GROUP,
  GOLDEN_CONTENT_KIND,
  GOLDEN_CONTENT_PLURAL,
  GOLDEN_CONTENT_VERSION,
  type GoldenContentSpec,
  type GoldenContentSpecCheck,
} from "./golden-content.ts";
export { type GoldenLocation, locateGolden } from "./golden-path.ts";
export { type PopulateFlags, populateGoldenContent } from "./populate.ts";
export {
  DEFAULT_GOLDEN_HOST_DIR,
  DEFAULT_IMAGE,
  GOLDEN_MOUNT_PATH,
  type GoldenContentPopulatorOptions,
  goldenContentPopulator,
} from "./populator.ts";
export { locateVolume, VolumeHandleError, type VolumeLocation } from "./volume-path.ts";
