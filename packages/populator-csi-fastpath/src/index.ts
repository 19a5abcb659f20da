export { locateVolume, VolumeHandleError, type VolumeLocation } from "./volume-path.ts";
