import { defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * Runs after everything else: it stops the shared cluster to prove `down` leaves nothing behind.
 * Vitest's default order depends on cached durations, so pin this one file last.
 */
const LAST = "cluster-lifecycle.e2e.ts";

class LifecycleLastSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    return [
      ...sorted.filter((f) => !f.moduleId.endsWith(LAST)),
      ...sorted.filter((f) => f.moduleId.endsWith(LAST)),
    ];
  }
}

// One run covers every package's unit tests and the e2e tier in test/.
// Files run one at a time: the e2e tier shares one cluster, and the unit tier is fast enough serially.
export default defineConfig({
  test: {
    projects: ["packages/*", "test/vitest.*.config.ts", "docs"],
    fileParallelism: false,
    sequence: { sequencer: LifecycleLastSequencer },
  },
});
