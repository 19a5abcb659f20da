#!/usr/bin/env node
import { colorWanted, runVolpopCli } from "./commands.ts";

process.exitCode = await runVolpopCli(process.argv.slice(2), { color: colorWanted(process.stdout) });
