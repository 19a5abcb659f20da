import type { PodContext, Source } from "@volpop/sdk";
import { describe, expect, it } from "vitest";
import { type ImageSourceSpec, imageSourceSpec } from "./image-source.ts";
import { DEFAULT_IMAGE, DEFAULT_RESOURCES, imagePopulator } from "./populator.ts";

function source(spec: unknown): Source<ImageSourceSpec> {
  const checked = imageSourceSpec.validate(spec);
  if (!checked.ok) throw new Error(checked.problems.join("; "));
  return { namespace: "team-a", name: "models", uid: "source-uid", spec: checked.spec };
}

const filesystem: PodContext = {
  volumeMode: "Filesystem",
  targetPath: "/mnt",
  imageName: "volpop/populator-image:0.0.0",
};

describe("imagePopulator", () => {
  const populator = imagePopulator();

  it("serves ImageSource under its own prefix", () => {
    expect(populator.prefix).toBe("image.volpop.dev");
    expect(populator.source).toEqual({
      group: "image.volpop.dev",
      version: "v1alpha1",
      kind: "ImageSource",
      plural: "imagesources",
    });
    expect(populator.validate({ image: "busybox" })).toMatchObject({ ok: true });
  });

  // The SDK adds the checked spec to the pod's env, as for every populator (VOLPOP_SPEC).
  it("runs its own image in populate mode, leaving the spec to the SDK", () => {
    const src = source({ image: "registry.local/app:v1", path: "data", limits: { maxBytes: "1Gi" } });
    const pod = populator.populatorPod(src, filesystem);
    expect(pod.image).toBe("volpop/populator-image:0.0.0");
    expect(pod.args).toEqual(["--mode=populate"]);
    expect(pod.env?.map((e) => e.name)).toEqual(["NODE_OPTIONS"]);
    expect(pod.fromSourceNamespace).toBeUndefined();
  });

  it("gives its pods the population deadline and ten minutes more to start as activeDeadlineSeconds", () => {
    const pod = populator.populatorPod(source({ image: "busybox" }), filesystem);
    expect(pod.activeDeadlineSeconds).toBe(3600 + 600);
  });

  it("hands the admin's settings on to populate mode as flags, never through the spec", () => {
    const configured = imagePopulator({
      populationDeadlineMs: 30 * 60_000,
      credentialPolicy: { plainHttpHosts: ["registry.local:5000"] },
    });
    const pod = configured.populatorPod(source({ image: "registry.local:5000/app:v1" }), filesystem);
    expect(pod.args).toEqual([
      "--mode=populate",
      "--population-deadline=30m0s",
      "--allow-credentials-over-http=registry.local:5000",
    ]);
    expect(pod.activeDeadlineSeconds).toBe(1800 + 600);
  });

  it("bounds memory: the request equals the limit", () => {
    const pod = populator.populatorPod(source({ image: "busybox" }), filesystem);
    expect(pod.resources).toEqual(DEFAULT_RESOURCES);
    expect(pod.resources?.requests?.memory).toBe(pod.resources?.limits?.memory);
    expect(pod.env).toContainEqual({ name: "NODE_OPTIONS", value: "--max-old-space-size=160" });
  });

  const PULL = ["kubernetes.io/dockerconfigjson", "kubernetes.io/dockercfg"];

  it("copies each pull secret and the CA ConfigMap from the source's namespace, mounted where populate mode reads them", () => {
    const pod = populator.populatorPod(
      source({
        image: "registry.local/app:v1",
        pullSecrets: [{ name: "creds" }, { name: "mirror-creds" }],
        caBundle: { configMap: "registry-ca", key: "root.pem" },
      }),
      { volumeMode: "Block", targetPath: "/dev/block", imageName: undefined },
    );
    expect(pod.image).toBe(DEFAULT_IMAGE);
    expect(pod.fromSourceNamespace).toEqual([
      // Only registry credentials: the controller refuses to copy any other Secret type.
      { kind: "Secret", name: "creds", mountPath: "/var/run/volpop/pull-secrets/0", secretTypes: PULL },
      {
        kind: "Secret",
        name: "mirror-creds",
        mountPath: "/var/run/volpop/pull-secrets/1",
        secretTypes: PULL,
      },
      { kind: "ConfigMap", name: "registry-ca", mountPath: "/var/run/volpop/ca" },
    ]);
    // Mounted by the SDK from fromSourceNamespace: the populator adds no volumes of its own.
    expect(pod.volumes).toBeUndefined();
    expect(pod.volumeMounts).toBeUndefined();
  });

  it("runs as the SDK's non-root user with no capabilities when spec.owner is not set", () => {
    const pod = populator.populatorPod(source({ image: "busybox", fileMode: 0o2755 }), filesystem);
    expect(pod).not.toHaveProperty("runAsRoot");
    expect(pod).not.toHaveProperty("addCapabilities");
  });

  it.each([
    {
      what: "CHOWN, FOWNER and DAC_OVERRIDE",
      modes: {},
      capabilities: ["CHOWN", "FOWNER", "DAC_OVERRIDE"],
    },
    {
      what: "CHOWN, FOWNER and DAC_OVERRIDE",
      modes: { fileMode: 0o4755, dirMode: 0o1777 },
      capabilities: ["CHOWN", "FOWNER", "DAC_OVERRIDE"],
    },
    {
      what: "FSETID as well",
      modes: { dirMode: 0o2775 },
      capabilities: ["CHOWN", "FOWNER", "DAC_OVERRIDE", "FSETID"],
    },
    {
      what: "FSETID as well",
      modes: { fileMode: 0o2640 },
      capabilities: ["CHOWN", "FOWNER", "DAC_OVERRIDE", "FSETID"],
    },
  ])(
    "runs as root with $what for spec.owner on a Filesystem volume (modes $modes)",
    ({ modes, capabilities }) => {
      const spec = { image: "busybox", owner: { uid: 1000, gid: 1000 }, ...modes };
      const pod = populator.populatorPod(source(spec), filesystem);
      expect(pod.runAsRoot).toBe(true);
      expect(pod.addCapabilities).toEqual(capabilities);
    },
  );

  it("adds no capabilities for spec.owner on a Block volume, which ignores it", () => {
    const pod = populator.populatorPod(source({ image: "busybox", owner: { uid: 1000, gid: 1000 } }), {
      volumeMode: "Block",
      targetPath: "/dev/block",
      imageName: undefined,
    });
    expect(pod).not.toHaveProperty("runAsRoot");
    expect(pod).not.toHaveProperty("addCapabilities");
  });

  it("takes the resources it is given", () => {
    const resources = { requests: { memory: "1Gi" }, limits: { memory: "1Gi" } };
    expect(
      imagePopulator({ resources }).populatorPod(source({ image: "busybox" }), filesystem).resources,
    ).toBe(resources);
  });
});
