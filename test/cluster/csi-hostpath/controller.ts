/**
 * The CSI Controller service: creates and deletes volumes in the state directory. Filesystem volumes
 * are directories, block volumes sparse image files; volumes.json remembers which name got which id.
 */

import { randomUUID } from "node:crypto";
import { chmod, mkdir, open, rm, statfs } from "node:fs/promises";
import { chooseCapacity, parseCapacityRange, satisfiesRange } from "./capacity.ts";
import { CsiError, invalidArgument } from "./errors.ts";
import type { Host } from "./host.ts";
import type { KeyedMutex } from "./keyed-mutex.ts";
import type {
  ControllerGetCapabilitiesResponse,
  CreateVolumeRequest,
  CreateVolumeResponse,
  DeleteVolumeRequest,
  Empty,
  GetCapacityRequest,
  GetCapacityResponse,
  ValidateVolumeCapabilitiesRequest,
  ValidateVolumeCapabilitiesResponse,
} from "./messages.ts";
import { bindMountsOf } from "./mountinfo.ts";
import type { VolumeStore } from "./state.ts";
import { isAccessibleFrom, TOPOLOGY_KEY, topologyMatches } from "./topology.ts";
import { capabilityKind, requireCapabilities, requireVolumeId, requireVolumeName } from "./validate.ts";
import { toCsiVolume, type VolumeRecord, volumeDataPath } from "./volume.ts";

/** Controller calls change the store and the state directory together, so they run one at a time. */
const CONTROLLER_LOCK = "controller";

export type ControllerOptions = {
  /** This node: the only topology volumes are accessible from. */
  nodeId: string;
  /** This node's zone, when the driver reports one (`--zone`). */
  zone?: string;
  /** Directory holding the volumes; must exist. */
  stateDir: string;
  /** Largest volume to create, in bytes. */
  maxVolumeSize: number;
  store: VolumeStore;
  /** Used by DeleteVolume to refuse volumes still published and to free their loop devices. */
  host: Pick<Host, "mounts" | "loopDevicesOf" | "detachLoop">;
  /** Shared with the node service. */
  locks: KeyedMutex;
  /** Makes volume ids. Default: crypto.randomUUID. */
  newId?: () => string;
  /** Bytes free for new volumes under `stateDir`. Default: statfs's available blocks. */
  freeBytes?: (dir: string) => Promise<number>;
};

async function statfsFreeBytes(dir: string): Promise<number> {
  const stats = await statfs(dir);
  return stats.bavail * stats.bsize;
}

/** Creates the directory or image file of a volume; leaves an existing one's data alone. */
async function createVolumeData(stateDir: string, record: VolumeRecord): Promise<void> {
  const path = volumeDataPath(stateDir, record.id, record.kind);
  if (record.kind === "filesystem") {
    await mkdir(path, { recursive: true });
    // World-writable like upstream hostpath volumes, so pods running as any user can write.
    await chmod(path, 0o777);
    return;
  }
  const image = await open(path, "a", 0o600);
  try {
    if ((await image.stat()).size !== record.capacity) await image.truncate(record.capacity);
  } finally {
    await image.close();
  }
}

export function createControllerService(options: ControllerOptions) {
  const { nodeId, zone, stateDir, maxVolumeSize, store, host, locks } = options;
  const newId = options.newId ?? randomUUID;
  const freeBytes = options.freeBytes ?? statfsFreeBytes;

  return {
    async CreateVolume(request: CreateVolumeRequest): Promise<CreateVolumeResponse> {
      const name = requireVolumeName(request.name);
      const kind = requireCapabilities(request.volume_capabilities);
      const source = request.volume_content_source;
      if (source?.type || source?.snapshot || source?.volume) {
        throw invalidArgument(
          "volume_content_source is not supported: this driver cannot clone volumes or restore snapshots",
        );
      }
      const range = parseCapacityRange(request.capacity_range);
      const capacity = chooseCapacity(range, maxVolumeSize);
      if (!isAccessibleFrom(request.accessibility_requirements, nodeId, zone)) {
        throw new CsiError(
          "RESOURCE_EXHAUSTED",
          `volumes can only be created on node ${nodeId} (${TOPOLOGY_KEY}=${nodeId}), which accessibility_requirements exclude`,
        );
      }
      return locks.run(CONTROLLER_LOCK, async () => {
        const existing = store.byName(name);
        if (existing) {
          if (existing.kind !== kind) {
            throw new CsiError(
              "ALREADY_EXISTS",
              `volume ${JSON.stringify(name)} already exists as a ${existing.kind} volume (${existing.id})`,
            );
          }
          if (!satisfiesRange(existing.capacity, range)) {
            throw new CsiError(
              "ALREADY_EXISTS",
              `volume ${JSON.stringify(name)} already exists with ${existing.capacity} bytes, outside the requested capacity_range`,
            );
          }
          await createVolumeData(stateDir, existing);
          return { volume: toCsiVolume(existing, nodeId, zone) };
        }
        const record: VolumeRecord = { id: newId(), capacity, kind };
        await createVolumeData(stateDir, record);
        try {
          await store.put(name, record);
        } catch (error) {
          await rm(volumeDataPath(stateDir, record.id, kind), { recursive: true, force: true });
          throw error;
        }
        return { volume: toCsiVolume(record, nodeId, zone) };
      });
    },

    async DeleteVolume(request: DeleteVolumeRequest): Promise<Empty> {
      const id = requireVolumeId(request.volume_id);
      return locks.run(CONTROLLER_LOCK, () =>
        locks.run(id, async () => {
          const mounts = await host.mounts();
          const directory = volumeDataPath(stateDir, id, "filesystem");
          const image = volumeDataPath(stateDir, id, "block");
          const published = bindMountsOf(mounts, directory).map((mount) => mount.mountPoint);
          const loops = await host.loopDevicesOf(image);
          for (const loop of loops)
            published.push(...bindMountsOf(mounts, loop).map((mount) => mount.mountPoint));
          if (published.length > 0) {
            throw new CsiError(
              "FAILED_PRECONDITION",
              `volume ${id} is still published at ${published.join(", ")}`,
            );
          }
          for (const loop of loops) await host.detachLoop(loop);
          // Data of both kinds is removed whether or not the store knows the id: that also cleans up
          // after a CreateVolume that crashed before recording its volume.
          await rm(directory, { recursive: true, force: true });
          await rm(image, { force: true });
          const known = store.byId(id);
          if (known) await store.remove(known.name);
          return {};
        }),
      );
    },

    async ValidateVolumeCapabilities(
      request: ValidateVolumeCapabilitiesRequest,
    ): Promise<ValidateVolumeCapabilitiesResponse> {
      const id = requireVolumeId(request.volume_id);
      if (request.volume_capabilities.length === 0)
        throw invalidArgument("volume_capabilities must not be empty");
      const kinds = request.volume_capabilities.map((capability, i) =>
        capabilityKind(capability, `volume_capabilities[${i}]`),
      );
      const known = store.byId(id);
      if (!known) throw new CsiError("NOT_FOUND", `volume ${id} does not exist`);
      if (kinds.some((kind) => kind !== known.record.kind)) {
        return { confirmed: null, message: `volume ${id} is a ${known.record.kind} volume` };
      }
      return {
        confirmed: {
          volume_context: request.volume_context,
          volume_capabilities: request.volume_capabilities,
          parameters: request.parameters,
        },
        message: "",
      };
    },

    async ListVolumes(_request: unknown): Promise<never> {
      throw new CsiError("UNIMPLEMENTED", "ListVolumes is not supported (LIST_VOLUMES is not advertised)");
    },

    async GetCapacity(request: GetCapacityRequest): Promise<GetCapacityResponse> {
      for (const [i, capability] of request.volume_capabilities.entries()) {
        capabilityKind(capability, `volume_capabilities[${i}]`);
      }
      const available = topologyMatches(request.accessible_topology, nodeId, zone)
        ? await freeBytes(stateDir)
        : 0;
      return { available_capacity: available, maximum_volume_size: { value: maxVolumeSize } };
    },

    async ControllerGetCapabilities(_request: Empty): Promise<ControllerGetCapabilitiesResponse> {
      return {
        capabilities: [{ rpc: { type: "CREATE_DELETE_VOLUME" } }, { rpc: { type: "GET_CAPACITY" } }],
      };
    },
  };
}
