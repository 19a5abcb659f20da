import path from "node:path";

/**
 * Maps a hostpath CSI volume handle to its place in the driver's state directory. The handle comes
 * from a PV, which anyone who can create PVs controls, so it is never trusted as a path.
 */
export class VolumeHandleError extends Error {
  readonly code = "INVALID_VOLUME_HANDLE";
}

const HANDLE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

export interface VolumeLocation {
  readonly filesystemDir: string;
  readonly blockFile: string;
}

export function locateVolume(stateDir: string, handle: string): VolumeLocation {
  if (!HANDLE.test(handle)) {
    throw new VolumeHandleError(
      `volume handle ${JSON.stringify(handle.slice(0, 200))} is not a plain identifier (letters, digits, '-', '_')`,
    );
  }
  const root = path.resolve(stateDir);
  const filesystemDir = path.join(root, handle);
  // The pattern already excludes separators; this guards against a future loosening of it.
  if (path.dirname(filesystemDir) !== root) throw new VolumeHandleError(`volume handle escapes ${root}`);
  return { filesystemDir, blockFile: `${filesystemDir}.img` };
}
