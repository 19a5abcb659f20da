import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { buildah, imageExists } from "@volpop/images";
import { images, layout, versions } from "./config.ts";
import { run } from "./exec.ts";
import { step } from "./log.ts";

/**
 * Images the cluster needs and cannot pull: built with buildah from local files (no base image from a
 * public registry), kept in buildah's storage under the cache (the one @volpop/images builds the
 * product images in), and pushed to the local registry on `up`.
 */

/** Builds `tag` from a Containerfile and a context folder filled by `fill`, unless it exists. */
async function buildOnce(
  tag: string,
  containerfile: string,
  fill: (context: string) => void | Promise<void>,
): Promise<void> {
  if (await imageExists(tag)) return;
  step(`building image ${tag}`);
  const context = fs.mkdtempSync(path.join(os.tmpdir(), "volpop-image-"));
  try {
    fs.writeFileSync(path.join(context, "Containerfile"), containerfile);
    await fill(context);
    await buildah([
      "bud",
      "--quiet",
      "--layers=false",
      "-f",
      path.join(context, "Containerfile"),
      "-t",
      tag,
      context,
    ]);
  } finally {
    fs.rmSync(context, { recursive: true, force: true });
  }
}

async function busyboxVersion(): Promise<string> {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax, not a template
  const { stdout } = await run("dpkg-query", ["-W", "-f=${Version}", "busybox-static"]);
  return stdout.trim().replace(/[^A-Za-z0-9_.-]/g, "_");
}

/** Local names (in buildah's storage) → the names the cluster pulls them by. */
async function wanted(): Promise<Array<readonly [local: string, remote: string]>> {
  return [
    [`volpop-local/pause:${versions.pause}`, images.pause],
    [`volpop-local/busybox:${await busyboxVersion()}`, images.busybox],
  ];
}

export async function buildClusterImages(): Promise<void> {
  const [[pause], [busybox]] = (await wanted()) as [[string, string], [string, string]];
  await buildOnce(
    pause,
    'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n',
    (context) => {
      fs.copyFileSync(layout.bin("pause", "pause"), path.join(context, "pause"));
    },
  );
  await buildOnce(busybox, 'FROM scratch\nCOPY rootfs/ /\nCMD ["sh"]\n', async (context) => {
    const rootfs = path.join(context, "rootfs");
    for (const dir of ["bin", "etc", "tmp", "root", "mnt"])
      fs.mkdirSync(path.join(rootfs, dir), { recursive: true });
    fs.chmodSync(path.join(rootfs, "tmp"), 0o1777);
    fs.copyFileSync("/bin/busybox", path.join(rootfs, "bin", "busybox"));
    fs.chmodSync(path.join(rootfs, "bin", "busybox"), 0o755);
    const { stdout } = await run("/bin/busybox", ["--list"]);
    for (const applet of stdout.split("\n").filter((a) => a && a !== "busybox")) {
      fs.symlinkSync("busybox", path.join(rootfs, "bin", applet));
    }
    fs.writeFileSync(
      path.join(rootfs, "etc", "passwd"),
      "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
    );
    fs.writeFileSync(path.join(rootfs, "etc", "group"), "root:x:0:\nnobody:x:65534:\n");
  });
}

/** Pushes every cluster image to the local registry (cheap when the registry has the blobs already). */
export async function pushClusterImages(): Promise<void> {
  for (const [local, remote] of await wanted()) {
    await buildah(["push", "--quiet", "--tls-verify=false", local, `docker://${remote}`]);
  }
}
