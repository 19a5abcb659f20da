#!/usr/bin/env node
import { runVolpopCli } from "../strategies/csi-fastpath/conformance-cli.ts";

process.exitCode = await runVolpopCli(process.argv.slice(2));
