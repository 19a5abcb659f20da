#!/usr/bin/env node
import { main } from "./command.ts";

process.exitCode = main(process.argv.slice(2));
