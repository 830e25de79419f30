#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm install` through the prepare script).
import { run } from '../dist/main.js';

process.exitCode = await run(process.argv.slice(2));
