/**
 * The host operations behind NodePublishVolume and NodeUnpublishVolume: bind mounts and loop devices.
 * Everything runs the util-linux tools through {@link Exec}; the node service gets a {@link Host} so
 * tests can hand it a fake.
 */

import type { Exec } from "./exec.ts";
import { type MountInfo, readMountInfo } from "./mountinfo.ts";

export type Host = {
  /** The current mount table. */
  mounts(): Promise<MountInfo[]>;
  /** `mount --bind source target`, then remounts read-only when asked (undoing the mount on failure). */
  bindMount(source: string, target: string, readOnly: boolean): Promise<void>;
  unmount(target: string): Promise<void>;
  /** Loop devices (e.g. "/dev/loop3") backed by `file`. */
  loopDevicesOf(file: string): Promise<string[]>;
  /** Attaches `file` to a free loop device and returns its path. */
  attachLoop(file: string): Promise<string>;
  detachLoop(device: string): Promise<void>;
};

/** Parses `losetup --list --noheadings --output NAME` output: one device path a line. */
export function parseLoopDevices(stdout: string): string[] {
  return stdout
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");
}

export function createHost(exec: Exec, mountInfoFile = "/proc/self/mountinfo"): Host {
  return {
    mounts: () => readMountInfo(mountInfoFile),
    async bindMount(source, target, readOnly) {
      await exec("mount", ["--bind", source, target]);
      if (!readOnly) return;
      try {
        await exec("mount", ["-o", "remount,bind,ro", target]);
      } catch (error) {
        await exec("umount", [target]).catch(() => {});
        throw error;
      }
    },
    async unmount(target) {
      await exec("umount", [target]);
    },
    async loopDevicesOf(file) {
      return parseLoopDevices(
        await exec("losetup", ["--list", "--noheadings", "--output", "NAME", "--associated", file]),
      );
    },
    async attachLoop(file) {
      const device = (await exec("losetup", ["--find", "--show", file])).trim();
      if (!device.startsWith("/dev/"))
        throw new Error(`losetup --find --show ${file} printed ${JSON.stringify(device)}`);
      return device;
    },
    async detachLoop(device) {
      await exec("losetup", ["--detach", device]);
    },
  };
}
