import { describe, expect, it } from "vitest";
import { bindMountsOf, isMountPoint, mountContaining, parseMountInfo } from "./mountinfo.ts";

const ID = "0b7c4f3e-2d1a-4c5b-9e8f-7a6b5c4d3e2f";

/** A host whose root is ext4 254:0, with /dev a devtmpfs and /srv/state a bind of /data on a second disk. */
const table = [
  "26 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard",
  "23 26 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=12334416k,mode=755",
  "25 23 0:23 / /dev/pts rw,relatime - devpts devpts rw,mode=600",
  "60 26 8:16 / /mnt/disk rw,relatime shared:7 - xfs /dev/sdb rw",
  "61 26 8:16 /data /srv/state rw,relatime shared:7 - xfs /dev/sdb rw",
  `41 26 254:0 /var/lib/hostpath/${ID} /var/lib/kubelet/pods/p1/volumes/kubernetes.io~csi/pvc-1/mount rw,relatime - ext4 /dev/vda rw`,
  "42 26 0:6 /loop3 /var/lib/kubelet/plugins/kubernetes.io/csi/volumeDevices/publish/pvc-2/p2 rw,relatime - devtmpfs devtmpfs rw",
  `62 26 8:16 /data/${ID}/sub /mnt/with\\040space rw,relatime - xfs /dev/sdb rw`,
].join("\n");

describe("parseMountInfo", () => {
  it("reads each line's ids, device, root, mount point and filesystem", () => {
    const [first, , , , statedir] = parseMountInfo(table);
    expect(first).toEqual({
      id: 26,
      parentId: 1,
      device: "254:0",
      root: "/",
      mountPoint: "/",
      fsType: "ext4",
      source: "/dev/vda",
    });
    expect(statedir).toMatchObject({
      device: "8:16",
      root: "/data",
      mountPoint: "/srv/state",
      fsType: "xfs",
    });
  });

  it("undoes the octal escapes in paths", () => {
    expect(parseMountInfo(table).at(-1)?.mountPoint).toBe("/mnt/with space");
  });

  it("ignores blank lines and refuses malformed ones", () => {
    expect(parseMountInfo("\n\n")).toEqual([]);
    expect(() => parseMountInfo("26 1 254:0 / /")).toThrow(/malformed mountinfo line/);
  });
});

describe("mount queries", () => {
  const mounts = parseMountInfo(table);

  it("isMountPoint is true only for mount points themselves", () => {
    expect(isMountPoint(mounts, "/var/lib/kubelet/pods/p1/volumes/kubernetes.io~csi/pvc-1/mount")).toBe(true);
    expect(isMountPoint(mounts, "/var/lib/kubelet/pods/p1/volumes")).toBe(false);
  });

  it("mountContaining picks the deepest mount above a path", () => {
    expect(mountContaining(mounts, "/dev/loop3")?.id).toBe(23);
    expect(mountContaining(mounts, "/dev/pts/0")?.id).toBe(25);
    expect(mountContaining(mounts, "/devices")?.id).toBe(26);
    expect(mountContaining(mounts, "/srv/state/x")?.id).toBe(61);
  });

  it("finds the bind mount of a filesystem volume on the root filesystem", () => {
    expect(bindMountsOf(mounts, `/var/lib/hostpath/${ID}`).map((m) => m.id)).toEqual([41]);
  });

  it("finds the bind mount of a loop device node", () => {
    expect(bindMountsOf(mounts, "/dev/loop3").map((m) => m.id)).toEqual([42]);
  });

  it("does not mistake loop30 for loop3 or a sibling directory for the volume", () => {
    expect(bindMountsOf(mounts, "/dev/loop30")).toEqual([]);
    expect(bindMountsOf(mounts, `/var/lib/hostpath/${ID.slice(0, -1)}`)).toEqual([]);
  });

  it("translates paths under a bind-mounted state dir into the filesystem's own paths", () => {
    expect(bindMountsOf(mounts, `/srv/state/${ID}`).map((m) => m.id)).toEqual([62]);
  });

  it("does not count the mount a path is simply reached through", () => {
    expect(bindMountsOf(mounts, "/srv/state").map((m) => m.id)).toEqual([62]);
    expect(bindMountsOf(mounts, "/mnt/disk/data").map((m) => m.id)).toEqual([61, 62]);
  });
});
