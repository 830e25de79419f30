#!/usr/bin/env node
/** The executable entry point; everything it does lives in main.ts, which has no side effects on import. */
import { run } from './main.js';

process.exitCode = await run(process.argv.slice(2));
