#!/usr/bin/env node
import { runValidator } from "./run.ts";

process.exitCode = await runValidator();
