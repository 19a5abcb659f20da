import type { Populator } from "@volpop/sdk";
import {
  checkHelloSpec,
  HELLO_GROUP,
  HELLO_KIND,
  HELLO_PLURAL,
  HELLO_VERSION,
  type HelloSpec,
} from "./hello.ts";

/** Image used when the controller is started without `--image-name`. */
export const DEFAULT_IMAGE = "volpop/populator-hello:latest";

/**
 * The hello populator, as upstream's example: a `Hello` names one file and its contents, and a pod
 * running this same image in populate mode writes them into the new volume.
 */
export const helloPopulator: Populator<HelloSpec> = {
  prefix: HELLO_GROUP,
  source: { group: HELLO_GROUP, version: HELLO_VERSION, kind: HELLO_KIND, plural: HELLO_PLURAL },
  validate: checkHelloSpec,
  populatorPod(source, context) {
    return {
      image: context.imageName ?? DEFAULT_IMAGE,
      args: [
        "--mode=populate",
        `--file-name=${source.spec.fileName}`,
        `--file-contents=${source.spec.fileContents}`,
      ],
    };
  },
};
