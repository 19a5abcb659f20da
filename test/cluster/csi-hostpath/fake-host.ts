/**
 * An in-memory {@link Host} for tests: records bind mounts and loop devices in a mount table shaped
 * like the kernel's (the root filesystem is device 1:0, /dev a devtmpfs 0:6), without touching the host.
 */

import { basename } from "node:path";
import type { Host } from "./host.ts";
import type { MountInfo } from "./mountinfo.ts";

export type FakeHost = Host & {
  /** Loop device → backing file. */
  loops: Map<string, string>;
  mountTable: MountInfo[];
  /** Commands run, e.g. "bind /src /target ro". */
  calls: string[];
  /** When set, bindMount throws this. */
  failBind?: Error;
};

export function fakeHost(): FakeHost {
  let nextId = 100;
  let nextLoop = 0;
  const host: FakeHost = {
    loops: new Map(),
    mountTable: [
      { id: 1, parentId: 0, device: "1:0", root: "/", mountPoint: "/", fsType: "ext4", source: "/dev/vda" },
      {
        id: 2,
        parentId: 1,
        device: "0:6",
        root: "/",
        mountPoint: "/dev",
        fsType: "devtmpfs",
        source: "devtmpfs",
      },
    ],
    calls: [],
    async mounts() {
      return [...host.mountTable];
    },
    async bindMount(source, target, readOnly) {
      host.calls.push(`bind ${source} ${target}${readOnly ? " ro" : ""}`);
      if (host.failBind) throw host.failBind;
      const onDev = source.startsWith("/dev/");
      host.mountTable.push({
        id: nextId++,
        parentId: 1,
        device: onDev ? "0:6" : "1:0",
        root: onDev ? `/${basename(source)}` : source,
        mountPoint: target,
        fsType: onDev ? "devtmpfs" : "ext4",
        source: onDev ? "devtmpfs" : "/dev/vda",
      });
    },
    async unmount(target) {
      host.calls.push(`umount ${target}`);
      const index = host.mountTable.findLastIndex((mount) => mount.mountPoint === target);
      if (index < 0) throw new Error(`umount: ${target}: not mounted`);
      host.mountTable.splice(index, 1);
    },
    async loopDevicesOf(file) {
      return [...host.loops].filter(([, backing]) => backing === file).map(([device]) => device);
    },
    async attachLoop(file) {
      const device = `/dev/loop${nextLoop++}`;
      host.calls.push(`attach ${file} ${device}`);
      host.loops.set(device, file);
      return device;
    },
    async detachLoop(device) {
      host.calls.push(`detach ${device}`);
      host.loops.delete(device);
    },
  };
  return host;
}
