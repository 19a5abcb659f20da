#!/usr/bin/env node
import { CliUsageError, runPopulator } from "@volpop/sdk";
import { IMAGE_SOURCE_GROUP } from "./image-source.ts";
import { populateImage } from "./populate.ts";
import { DEFAULT_IMAGE, imagePopulator } from "./populator.ts";
import { IMAGE_POPULATOR_FLAGS, type ImagePopulatorSettings, settingsFromArgs } from "./settings.ts";
import { VERSION } from "./version.ts";

const programName = "image-populator";
const defaults = { namespace: "volpop-image", imageName: DEFAULT_IMAGE };
const argv = process.argv.slice(2);

process.exitCode = await main();

async function main(): Promise<number> {
  // The admin's settings shape the pods the controller makes, so they are read before it starts.
  let settings: ImagePopulatorSettings;
  try {
    settings = settingsFromArgs(argv, {
      ...defaults,
      version: VERSION,
      programName,
      prefix: IMAGE_SOURCE_GROUP,
    });
  } catch (error) {
    if (!(error instanceof CliUsageError)) throw error;
    process.stderr.write(`${error.message}\n\n${error.usage}`);
    return 2;
  }
  return runPopulator(
    {
      populator: imagePopulator(settings),
      programName,
      version: VERSION,
      defaults,
      // The admin's settings only: the ImageSource's spec reaches populate mode as context.spec.
      flags: IMAGE_POPULATOR_FLAGS,
      populate: async (context) => {
        const { logger } = context;
        const result = await populateImage(context, {
          deadlineMs: settings.populationDeadlineMs,
          credentialPolicy: settings.credentialPolicy,
          log: (level, fields, message) => logger[level](fields, message),
        });
        logger.info({ ...result }, "populated the volume");
      },
    },
    argv,
  );
}
