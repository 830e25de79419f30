import { defineConfig } from 'vitest/config';
import root from '../../vitest.config.js';

// The browser suite: the console in Debian's Chromium (/usr/bin/chromium; .ci/run installs the package),
// driven by playwright-core against a real gateway, dev issuer, sample servers and simulated model.
// Spread rather than mergeConfig: mergeConfig would append to the root's include list.
export default defineConfig({
  ...root,
  test: { ...root.test, include: ['test/browser/**/*.test.ts'], globalSetup: [], testTimeout: 90_000, hookTimeout: 90_000, fileParallelism: false },
});
