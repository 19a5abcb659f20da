import { describe, expect, it } from "vitest";
import { goldenContentPopulator } from "./populator.ts";

describe("goldenContentPopulator", () => {
  const populator = goldenContentPopulator({ goldenHostDir: "/srv/golden" });
  const source = { namespace: "team-a", name: "base", uid: "source-uid", spec: { content: "base" } };

  it("serves GoldenContent in fastpath.volpop.dev", () => {
    expect(populator.source).toEqual({
      group: "fastpath.volpop.dev",
      version: "v1alpha1",
      kind: "GoldenContent",
      plural: "goldencontents",
    });
    expect(populator.validate({ content: "../x" }).ok).toBe(false);
  });

  it("runs this image in populate mode with the golden directory mounted read-only", () => {
    const pod = populator.populatorPod(source, {
      volumeMode: "Filesystem",
      targetPath: "/mnt",
      imageName: "registry/volpop/populator-csi-fastpath:1",
    });
    expect(pod).toEqual({
      image: "registry/volpop/populator-csi-fastpath:1",
      args: ["--mode=populate", "--golden-dir=/golden", "--operation-id=$(VOLPOP_OPERATION_ID)"],
      env: [
        {
          name: "VOLPOP_OPERATION_ID",
          valueFrom: { fieldRef: { fieldPath: "metadata.labels['volpop.dev/populate-for']" } },
        },
      ],
      volumes: [{ name: "golden", hostPath: { path: "/srv/golden", type: "Directory" } }],
      volumeMounts: [{ name: "golden", mountPath: "/golden", readOnly: true }],
    });
  });

  it("falls back to the default image", () => {
    const pod = populator.populatorPod(source, {
      volumeMode: "Block",
      targetPath: "/dev/block",
      imageName: undefined,
    });
    expect(pod.image).toBe("volpop/populator-csi-fastpath:latest");
  });
});
