import { mkdir, mkdtemp, readdir, realpath, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createControllerService } from "./controller.ts";
import { type FakeHost, fakeHost } from "./fake-host.ts";
import { blockCapability, createVolumeRequest, mountCapability } from "./fixtures.ts";
import { KeyedMutex } from "./keyed-mutex.ts";
import { VolumeStore } from "./state.ts";
import { TOPOLOGY_KEY } from "./topology.ts";

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const ids = ["0b7c4f3e-2d1a-4c5b-9e8f-7a6b5c4d3e2f", "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"];
const [firstId = "", secondId = ""] = ids;
const status = (code: string, message?: RegExp) =>
  expect.objectContaining({ code, ...(message ? { message: expect.stringMatching(message) } : {}) });

let stateDir: string;
let store: VolumeStore;
let host: FakeHost;
let controller: ReturnType<typeof createControllerService>;

beforeEach(async () => {
  stateDir = await realpath(await mkdtemp(join(tmpdir(), "csi-controller-")));
  store = await VolumeStore.open(join(stateDir, "volumes.json"));
  host = fakeHost();
  const pending = [...ids];
  controller = createControllerService({
    nodeId: "node-1",
    stateDir,
    maxVolumeSize: 10 * GiB,
    store,
    host,
    locks: new KeyedMutex(),
    newId: () => pending.shift() ?? "",
    freeBytes: async () => 42 * GiB,
  });
});

afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

describe("CreateVolume", () => {
  it("creates a world-writable directory for a filesystem volume and records it", async () => {
    const { volume } = await controller.CreateVolume(createVolumeRequest({ name: "pvc-a" }));
    expect(volume).toEqual({
      capacity_bytes: GiB,
      volume_id: firstId,
      volume_context: { kind: "filesystem" },
      accessible_topology: [{ segments: { [TOPOLOGY_KEY]: "node-1" } }],
    });
    const dir = await stat(join(stateDir, firstId));
    expect(dir.isDirectory()).toBe(true);
    expect(dir.mode & 0o777).toBe(0o777);
    expect(store.byName("pvc-a")).toEqual({ id: firstId, capacity: GiB, kind: "filesystem" });
  });

  it("creates a sparse image of the rounded-up size for a block volume", async () => {
    const { volume } = await controller.CreateVolume(
      createVolumeRequest({
        volume_capabilities: [blockCapability()],
        capacity_range: { required_bytes: String(5 * MiB + 1), limit_bytes: "0" },
      }),
    );
    expect(volume).toMatchObject({ capacity_bytes: 6 * MiB, volume_context: { kind: "block" } });
    const image = await stat(join(stateDir, `${firstId}.img`));
    expect(image.size).toBe(6 * MiB);
    expect(image.blocks).toBe(0);
  });

  it("returns the same volume when the same name is requested again with a compatible size", async () => {
    await controller.CreateVolume(
      createVolumeRequest({ capacity_range: { required_bytes: String(GiB), limit_bytes: "0" } }),
    );
    const again = await controller.CreateVolume(
      createVolumeRequest({ capacity_range: { required_bytes: String(MiB), limit_bytes: "0" } }),
    );
    expect(again.volume.volume_id).toBe(firstId);
    expect(store.list()).toHaveLength(1);
  });

  it("recreates the data of a recorded volume whose directory went missing", async () => {
    await controller.CreateVolume(createVolumeRequest());
    await rm(join(stateDir, firstId), { recursive: true });
    await controller.CreateVolume(createVolumeRequest());
    expect((await stat(join(stateDir, firstId))).isDirectory()).toBe(true);
  });

  it("answers ALREADY_EXISTS when the name exists with an incompatible size", async () => {
    await controller.CreateVolume(createVolumeRequest());
    await expect(
      controller.CreateVolume(
        createVolumeRequest({ capacity_range: { required_bytes: String(2 * GiB), limit_bytes: "0" } }),
      ),
    ).rejects.toThrow(status("ALREADY_EXISTS", /outside the requested capacity_range/));
  });

  it("answers ALREADY_EXISTS when the name exists with the other access type", async () => {
    await controller.CreateVolume(createVolumeRequest());
    await expect(
      controller.CreateVolume(createVolumeRequest({ volume_capabilities: [blockCapability()] })),
    ).rejects.toThrow(status("ALREADY_EXISTS", /filesystem volume/));
  });

  it.each([
    ["a clone", { type: "volume" as const, volume: { volume_id: secondId } }],
    ["a snapshot restore", { type: "snapshot" as const, snapshot: { snapshot_id: "snap-1" } }],
  ])("refuses %s", async (_, source) => {
    await expect(
      controller.CreateVolume(createVolumeRequest({ volume_content_source: source })),
    ).rejects.toThrow(status("INVALID_ARGUMENT", /volume_content_source is not supported/));
  });

  it("refuses a request without a name or capabilities", async () => {
    await expect(controller.CreateVolume(createVolumeRequest({ name: "" }))).rejects.toThrow(
      status("INVALID_ARGUMENT", /name/),
    );
    await expect(controller.CreateVolume(createVolumeRequest({ volume_capabilities: [] }))).rejects.toThrow(
      status("INVALID_ARGUMENT", /volume_capabilities/),
    );
  });

  it("answers OUT_OF_RANGE above the maximum volume size", async () => {
    await expect(
      controller.CreateVolume(
        createVolumeRequest({ capacity_range: { required_bytes: String(11 * GiB), limit_bytes: "0" } }),
      ),
    ).rejects.toThrow(status("OUT_OF_RANGE"));
    expect(await readdir(stateDir)).toEqual([]);
  });

  it("answers RESOURCE_EXHAUSTED when the requisite topology excludes this node", async () => {
    const elsewhere = { segments: { [TOPOLOGY_KEY]: "node-2" } };
    await expect(
      controller.CreateVolume(
        createVolumeRequest({ accessibility_requirements: { requisite: [elsewhere], preferred: [] } }),
      ),
    ).rejects.toThrow(status("RESOURCE_EXHAUSTED", /node-1/));
  });
});

describe("DeleteVolume", () => {
  it("removes the volume's data and record", async () => {
    await controller.CreateVolume(createVolumeRequest({ name: "pvc-a" }));
    await writeFile(join(stateDir, firstId, "data"), "x");
    await controller.DeleteVolume({ volume_id: firstId });
    expect(store.list()).toEqual([]);
    expect(await readdir(stateDir)).toEqual(["volumes.json"]);
  });

  it("succeeds for an id it does not know, removing leftover data", async () => {
    await mkdir(join(stateDir, secondId));
    await controller.DeleteVolume({ volume_id: secondId });
    expect(await readdir(stateDir)).toEqual([]);
  });

  it.each(["", "..", `${firstId}/../..`, "/etc"])("refuses the id %j", async (id) => {
    await expect(controller.DeleteVolume({ volume_id: id })).rejects.toThrow(status("INVALID_ARGUMENT"));
  });

  it("refuses a filesystem volume still bind-mounted somewhere", async () => {
    await controller.CreateVolume(createVolumeRequest());
    await host.bindMount(join(stateDir, firstId), "/var/lib/kubelet/pods/p/volumes/v/mount", false);
    await expect(controller.DeleteVolume({ volume_id: firstId })).rejects.toThrow(
      status("FAILED_PRECONDITION", /still published at \/var\/lib\/kubelet\/pods\/p\/volumes\/v\/mount/),
    );
    expect(store.list()).toHaveLength(1);
  });

  it("refuses a block volume whose loop device is still bind-mounted, and detaches an idle one", async () => {
    await controller.CreateVolume(createVolumeRequest({ volume_capabilities: [blockCapability()] }));
    const image = join(stateDir, `${firstId}.img`);
    const device = await host.attachLoop(image);
    await host.bindMount(device, "/var/lib/kubelet/plugins/publish/p", false);
    await expect(controller.DeleteVolume({ volume_id: firstId })).rejects.toThrow(
      status("FAILED_PRECONDITION"),
    );
    await host.unmount("/var/lib/kubelet/plugins/publish/p");
    await controller.DeleteVolume({ volume_id: firstId });
    expect(host.loops.size).toBe(0);
    expect(await readdir(stateDir)).toEqual(["volumes.json"]);
  });
});

describe("ValidateVolumeCapabilities", () => {
  it("confirms capabilities matching the volume's kind", async () => {
    await controller.CreateVolume(createVolumeRequest());
    const capabilities = [mountCapability("MULTI_NODE_MULTI_WRITER")];
    const response = await controller.ValidateVolumeCapabilities({
      volume_id: firstId,
      volume_context: { kind: "filesystem" },
      volume_capabilities: capabilities,
      parameters: {},
    });
    expect(response).toEqual({
      confirmed: {
        volume_context: { kind: "filesystem" },
        volume_capabilities: capabilities,
        parameters: {},
      },
      message: "",
    });
  });

  it("does not confirm block access to a filesystem volume", async () => {
    await controller.CreateVolume(createVolumeRequest());
    const response = await controller.ValidateVolumeCapabilities({
      volume_id: firstId,
      volume_context: {},
      volume_capabilities: [blockCapability()],
      parameters: {},
    });
    expect(response).toEqual({ confirmed: null, message: expect.stringMatching(/filesystem volume/) });
  });

  it("answers NOT_FOUND for an unknown volume", async () => {
    await expect(
      controller.ValidateVolumeCapabilities({
        volume_id: secondId,
        volume_context: {},
        volume_capabilities: [mountCapability()],
        parameters: {},
      }),
    ).rejects.toThrow(status("NOT_FOUND"));
  });
});

describe("GetCapacity and capabilities", () => {
  it("reports free space and the maximum volume size for this node, nothing for others", async () => {
    const request = { volume_capabilities: [mountCapability()], parameters: {}, accessible_topology: null };
    expect(await controller.GetCapacity(request)).toEqual({
      available_capacity: 42 * GiB,
      maximum_volume_size: { value: 10 * GiB },
    });
    const elsewhere = { ...request, accessible_topology: { segments: { [TOPOLOGY_KEY]: "node-2" } } };
    expect(await controller.GetCapacity(elsewhere)).toMatchObject({ available_capacity: 0 });
  });

  it("advertises creating, deleting and capacity", async () => {
    expect(await controller.ControllerGetCapabilities({})).toEqual({
      capabilities: [{ rpc: { type: "CREATE_DELETE_VOLUME" } }, { rpc: { type: "GET_CAPACITY" } }],
    });
  });

  it("answers UNIMPLEMENTED to ListVolumes", async () => {
    await expect(controller.ListVolumes({})).rejects.toThrow(status("UNIMPLEMENTED"));
  });
});
