import { mkdir, mkdtemp, realpath, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FakeHost, fakeHost } from "./fake-host.ts";
import { blockCapability, mountCapability, publishRequest } from "./fixtures.ts";
import { KeyedMutex } from "./keyed-mutex.ts";
import { createNodeService } from "./node.ts";
import { VolumeStore } from "./state.ts";
import { TOPOLOGY_KEY } from "./topology.ts";

const fsId = "0b7c4f3e-2d1a-4c5b-9e8f-7a6b5c4d3e2f";
const blockId = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a";
const unknownId = "11111111-2222-4333-8444-555555555555";
const status = (code: string, message?: RegExp) =>
  expect.objectContaining({ code, ...(message ? { message: expect.stringMatching(message) } : {}) });

let root: string;
let stateDir: string;
let pods: string;
let host: FakeHost;
let node: ReturnType<typeof createNodeService>;

beforeEach(async () => {
  root = await realpath(await mkdtemp(join(tmpdir(), "csi-node-")));
  stateDir = join(root, "state");
  pods = join(root, "pods");
  await mkdir(join(stateDir, fsId), { recursive: true });
  await writeFile(join(stateDir, `${blockId}.img`), "");
  await mkdir(pods);
  const store = await VolumeStore.open(join(stateDir, "volumes.json"));
  await store.put("pvc-fs", { id: fsId, capacity: 2 ** 30, kind: "filesystem" });
  await store.put("pvc-block", { id: blockId, capacity: 2 ** 20, kind: "block" });
  host = fakeHost();
  node = createNodeService({ nodeId: "node-1", stateDir, store, host, locks: new KeyedMutex() });
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("NodeGetInfo and NodeGetCapabilities", () => {
  it("reports the node id, no volume limit and the node's topology", async () => {
    expect(await node.NodeGetInfo({})).toEqual({
      node_id: "node-1",
      max_volumes_per_node: 0,
      accessible_topology: { segments: { [TOPOLOGY_KEY]: "node-1" } },
    });
  });

  it("advertises no node capabilities, so kubelet skips staging", async () => {
    expect(await node.NodeGetCapabilities({})).toEqual({ capabilities: [] });
  });
});

describe("NodePublishVolume", () => {
  it("creates the target directory and bind-mounts a filesystem volume onto it", async () => {
    const target = join(pods, "mount");
    await node.NodePublishVolume(publishRequest({ volume_id: fsId, target_path: target }));
    expect((await stat(target)).isDirectory()).toBe(true);
    expect(host.calls).toEqual([`bind ${join(stateDir, fsId)} ${target}`]);
  });

  it("mounts read-only when asked", async () => {
    const target = join(pods, "mount");
    await node.NodePublishVolume(publishRequest({ volume_id: fsId, target_path: target, readonly: true }));
    expect(host.calls).toEqual([`bind ${join(stateDir, fsId)} ${target} ro`]);
  });

  it("does nothing when the target is already mounted", async () => {
    const request = publishRequest({ volume_id: fsId, target_path: join(pods, "mount") });
    await node.NodePublishVolume(request);
    await node.NodePublishVolume(request);
    expect(host.calls).toHaveLength(1);
  });

  it("attaches a loop device and bind-mounts it onto a new target file for a block volume", async () => {
    const target = join(pods, "dev");
    await node.NodePublishVolume(
      publishRequest({ volume_id: blockId, target_path: target, volume_capability: blockCapability() }),
    );
    expect((await stat(target)).isFile()).toBe(true);
    expect(host.calls).toEqual([
      `attach ${join(stateDir, `${blockId}.img`)} /dev/loop0`,
      `bind /dev/loop0 ${target}`,
    ]);
  });

  it("reuses the loop device when a block volume is published twice", async () => {
    const capability = blockCapability("MULTI_NODE_MULTI_WRITER");
    await node.NodePublishVolume(
      publishRequest({ volume_id: blockId, target_path: join(pods, "a"), volume_capability: capability }),
    );
    await node.NodePublishVolume(
      publishRequest({ volume_id: blockId, target_path: join(pods, "b"), volume_capability: capability }),
    );
    expect(host.loops.size).toBe(1);
  });

  it("cleans up the target and the loop device when mounting fails", async () => {
    host.failBind = new Error("mount: permission denied");
    const target = join(pods, "dev");
    await expect(
      node.NodePublishVolume(
        publishRequest({ volume_id: blockId, target_path: target, volume_capability: blockCapability() }),
      ),
    ).rejects.toThrow("permission denied");
    await expect(stat(target)).rejects.toThrow(/ENOENT/);
    expect(host.loops.size).toBe(0);
  });

  it.each([
    [
      "a missing volume id",
      { volume_id: "", target_path: "/p/mount" },
      "INVALID_ARGUMENT",
      /volume_id is required/,
    ],
    [
      "a path as volume id",
      { volume_id: "../../etc", target_path: "/p/mount" },
      "INVALID_ARGUMENT",
      /not a volume id/,
    ],
    [
      "a missing target path",
      { volume_id: fsId, target_path: "" },
      "INVALID_ARGUMENT",
      /target_path is required/,
    ],
    ["a relative target path", { volume_id: fsId, target_path: "p/mount" }, "INVALID_ARGUMENT", /absolute/],
    [
      "a missing capability",
      { volume_id: fsId, target_path: "/p/mount", volume_capability: null },
      "INVALID_ARGUMENT",
      /volume_capability is required/,
    ],
    [
      "block access to a filesystem volume",
      { volume_id: fsId, target_path: "/p/dev", volume_capability: blockCapability() },
      "INVALID_ARGUMENT",
      /is a filesystem volume/,
    ],
    [
      "mount access to a block volume",
      { volume_id: blockId, target_path: "/p/mount", volume_capability: mountCapability() },
      "INVALID_ARGUMENT",
      /is a block volume/,
    ],
    ["an unknown volume", { volume_id: unknownId, target_path: "/p/mount" }, "NOT_FOUND", /does not exist/],
  ])("refuses %s", async (_, fields, code, message) => {
    await expect(node.NodePublishVolume(publishRequest(fields))).rejects.toThrow(status(code, message));
    expect(host.calls).toEqual([]);
  });

  it("answers NOT_FOUND when the volume's data is gone", async () => {
    await rm(join(stateDir, fsId), { recursive: true });
    await expect(
      node.NodePublishVolume(publishRequest({ volume_id: fsId, target_path: join(pods, "m") })),
    ).rejects.toThrow(status("NOT_FOUND", /has no data/));
  });
});

describe("NodeUnpublishVolume", () => {
  it("unmounts and removes a filesystem target", async () => {
    const target = join(pods, "mount");
    await node.NodePublishVolume(publishRequest({ volume_id: fsId, target_path: target }));
    await node.NodeUnpublishVolume({ volume_id: fsId, target_path: target });
    expect(host.calls.at(-1)).toBe(`umount ${target}`);
    await expect(stat(target)).rejects.toThrow(/ENOENT/);
  });

  it("succeeds when the target is already gone", async () => {
    await node.NodeUnpublishVolume({ volume_id: fsId, target_path: join(pods, "never-published") });
    expect(host.calls).toEqual([]);
  });

  it("detaches the loop device once its last target is unpublished", async () => {
    const capability = blockCapability("MULTI_NODE_MULTI_WRITER");
    const [a, b] = [join(pods, "a"), join(pods, "b")];
    await node.NodePublishVolume(
      publishRequest({ volume_id: blockId, target_path: a, volume_capability: capability }),
    );
    await node.NodePublishVolume(
      publishRequest({ volume_id: blockId, target_path: b, volume_capability: capability }),
    );
    await node.NodeUnpublishVolume({ volume_id: blockId, target_path: a });
    expect(host.loops.size).toBe(1);
    await node.NodeUnpublishVolume({ volume_id: blockId, target_path: b });
    expect(host.loops.size).toBe(0);
    await expect(stat(b)).rejects.toThrow(/ENOENT/);
  });

  it("does not delete a target directory that still has content", async () => {
    const target = join(pods, "mount");
    await mkdir(target);
    await writeFile(join(target, "precious"), "data");
    await expect(node.NodeUnpublishVolume({ volume_id: fsId, target_path: target })).rejects.toThrow(
      /ENOTEMPTY/,
    );
  });

  it("refuses ids that are not volume ids", async () => {
    await expect(
      node.NodeUnpublishVolume({ volume_id: "x/..", target_path: join(pods, "m") }),
    ).rejects.toThrow(status("INVALID_ARGUMENT"));
  });
});
