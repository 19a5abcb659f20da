#!/usr/bin/env node
import { runVolpopCli } from "../fastpath/conformance-cli.ts";

process.exitCode = await runVolpopCli(process.argv.slice(2));
