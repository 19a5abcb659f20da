#!/usr/bin/env node
import { createLogger, runPopulator } from "@volpop/sdk";
import { populateImage } from "./populate.ts";
import { DEFAULT_IMAGE, imagePopulator } from "./populator.ts";
import { VERSION } from "./version.ts";

process.exitCode = await runPopulator({
  populator: imagePopulator(),
  programName: "image-populator",
  version: VERSION,
  defaults: { namespace: "volpop-image", imageName: DEFAULT_IMAGE },
  // No flags of its own: populate mode reads the checked ImageSource spec from $VOLPOP_IMAGE_SOURCE,
  // which the pod spec sets, so that no field of it is ever parsed as a flag.
  populate: async (context) => {
    const logger = createLogger({ name: "image-populator", level: "info" });
    const result = await populateImage(context, {
      log: (level, fields, message) => logger[level](fields, message),
    });
    logger.info({ ...result }, "populated the volume");
  },
});
