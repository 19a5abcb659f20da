/**
 * The CSI Node service: publishes volumes where kubelet asks. Staging is not advertised, so kubelet
 * calls NodePublishVolume directly. A filesystem volume's directory is bind-mounted onto the target
 * directory; a block volume's image is attached to a loop device, which is bind-mounted onto the target
 * file. Calls for one volume run one at a time.
 */

import { lstat, mkdir, open, realpath, rm, rmdir, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { CsiError, invalidArgument } from "./errors.ts";
import type { Host } from "./host.ts";
import type { KeyedMutex } from "./keyed-mutex.ts";
import type {
  Empty,
  NodeGetCapabilitiesResponse,
  NodeGetInfoResponse,
  NodePublishVolumeRequest,
  NodeUnpublishVolumeRequest,
} from "./messages.ts";
import { bindMountsOf, isMountPoint } from "./mountinfo.ts";
import type { VolumeStore } from "./state.ts";
import { nodeTopology } from "./topology.ts";
import { capabilityKind, requireTargetPath, requireVolumeId } from "./validate.ts";
import { volumeDataPath } from "./volume.ts";

/** How often NodeUnpublishVolume unmounts a target before giving up (mounts can be stacked). */
const MAX_UNMOUNTS = 8;

export type NodeOptions = {
  /** This node's name: NodeGetInfo's node id and topology value. */
  nodeId: string;
  /** This node's zone, when the driver reports one (`--zone`). */
  zone?: string;
  /** Directory holding the volumes (canonical: no symlinks). */
  stateDir: string;
  store: VolumeStore;
  host: Host;
  /** Shared with the controller service. */
  locks: KeyedMutex;
};

function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** `path` with symlinks resolved, as the mount table shows it; its parent when `path` does not exist. */
async function canonicalPath(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (error) {
    if (errnoCode(error) !== "ENOENT") throw error;
    return join(await canonicalPath(dirname(path)), basename(path));
  }
}

/** Makes the target directory; returns whether it was created here. */
async function ensureTargetDirectory(target: string): Promise<boolean> {
  try {
    await mkdir(target);
    return true;
  } catch (error) {
    if (errnoCode(error) !== "EEXIST") throw error;
  }
  if (!(await stat(target)).isDirectory()) {
    throw new CsiError("FAILED_PRECONDITION", `target_path ${target} exists and is not a directory`);
  }
  return false;
}

/** Makes the (empty) target file a block device is bind-mounted onto; returns whether it was created here. */
async function ensureTargetFile(target: string): Promise<boolean> {
  try {
    await (await open(target, "wx", 0o600)).close();
    return true;
  } catch (error) {
    if (errnoCode(error) !== "EEXIST") throw error;
  }
  if ((await stat(target)).isDirectory()) {
    throw new CsiError(
      "FAILED_PRECONDITION",
      `target_path ${target} is a directory; block volumes are published to a file`,
    );
  }
  return false;
}

/** Removes a target left by publishing: an empty directory or a file. Never recursive. */
async function removeTarget(target: string): Promise<void> {
  let isDirectory: boolean;
  try {
    isDirectory = (await lstat(target)).isDirectory();
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return;
    throw error;
  }
  if (isDirectory) await rmdir(target);
  else await rm(target, { force: true });
}

export function createNodeService(options: NodeOptions) {
  const { nodeId, zone, stateDir, store, host, locks } = options;

  /** Detaches the loop devices of `image` that are no longer bind-mounted anywhere. */
  async function releaseLoopDevices(image: string): Promise<void> {
    const devices = await host.loopDevicesOf(image);
    if (devices.length === 0) return;
    const mounts = await host.mounts();
    for (const device of devices) {
      if (bindMountsOf(mounts, await canonicalPath(device)).length === 0) await host.detachLoop(device);
    }
  }

  return {
    async NodeGetInfo(_request: Empty): Promise<NodeGetInfoResponse> {
      return { node_id: nodeId, max_volumes_per_node: 0, accessible_topology: nodeTopology(nodeId, zone) };
    },

    async NodeGetCapabilities(_request: Empty): Promise<NodeGetCapabilitiesResponse> {
      return { capabilities: [] };
    },

    async NodePublishVolume(request: NodePublishVolumeRequest): Promise<Empty> {
      const id = requireVolumeId(request.volume_id);
      const target = requireTargetPath(request.target_path);
      if (!request.volume_capability) throw invalidArgument("volume_capability is required");
      const kind = capabilityKind(request.volume_capability, "volume_capability");
      return locks.run(id, async () => {
        const known = store.byId(id);
        if (!known) throw new CsiError("NOT_FOUND", `volume ${id} does not exist`);
        if (known.record.kind !== kind) {
          throw invalidArgument(
            `volume ${id} is a ${known.record.kind} volume; volume_capability asks for ${kind === "block" ? "block" : "mount"} access`,
          );
        }
        const data = volumeDataPath(stateDir, id, kind);
        try {
          await stat(data);
        } catch (error) {
          if (errnoCode(error) === "ENOENT")
            throw new CsiError("NOT_FOUND", `volume ${id} has no data at ${data}`);
          throw error;
        }
        if (isMountPoint(await host.mounts(), await canonicalPath(target))) return {};

        if (kind === "filesystem") {
          const created = await ensureTargetDirectory(target);
          try {
            await host.bindMount(data, target, request.readonly);
          } catch (error) {
            if (created) await rmdir(target).catch(() => {});
            throw error;
          }
          return {};
        }

        const [existing] = await host.loopDevicesOf(data);
        const device = existing ?? (await host.attachLoop(data));
        let created = false;
        try {
          created = await ensureTargetFile(target);
          // Read-only applies to the mount; writes through the device node itself are not blocked.
          await host.bindMount(device, target, request.readonly);
        } catch (error) {
          if (created) await rm(target, { force: true }).catch(() => {});
          await releaseLoopDevices(data).catch(() => {});
          throw error;
        }
        return {};
      });
    },

    async NodeUnpublishVolume(request: NodeUnpublishVolumeRequest): Promise<Empty> {
      const id = requireVolumeId(request.volume_id);
      const target = requireTargetPath(request.target_path);
      return locks.run(id, async () => {
        const canonical = await canonicalPath(target);
        for (let attempt = 0; isMountPoint(await host.mounts(), canonical); attempt++) {
          if (attempt === MAX_UNMOUNTS)
            throw new CsiError("INTERNAL", `${target} is still mounted after ${attempt} unmounts`);
          await host.unmount(target);
        }
        await removeTarget(target);
        // Unknown ids are tolerated: the target is cleaned up all the same, so a pod whose volume is gone
        // can still terminate. The image path is derived from the id in case the store forgot it.
        const image = volumeDataPath(stateDir, id, "block");
        if ((store.byId(id)?.record.kind ?? "block") === "block") await releaseLoopDevices(image);
        return {};
      });
    },
  };
}
