#!/usr/bin/env node
import { runBackendDaemon } from "./backend/daemon.ts";

// The backend on its own, for running it outside the image (`node src/backend-main.ts --help`).
// The image starts it through main.ts: `main.js backend ...`.
process.exitCode = await runBackendDaemon(process.argv.slice(2));
