import type { Populator } from "@volpop/sdk";
import { HELLO_GROUP, HELLO_KIND, HELLO_PLURAL, HELLO_VERSION, type HelloSpec, helloSpec } from "./hello.ts";

/** Image used when the controller is started without `--image-name`. */
export const DEFAULT_IMAGE = "volpop/populator-hello:latest";

/**
 * The hello populator, as upstream's example: a `Hello` names one file and its contents, and a pod
 * running this same image in populate mode writes them into the new volume (the SDK hands it the spec).
 */
export const helloPopulator: Populator<HelloSpec> = {
  prefix: HELLO_GROUP,
  source: { group: HELLO_GROUP, version: HELLO_VERSION, kind: HELLO_KIND, plural: HELLO_PLURAL },
  validate: helloSpec.validate,
  populatorPod: (_source, context) => ({
    image: context.imageName ?? DEFAULT_IMAGE,
    args: ["--mode=populate"],
  }),
};
