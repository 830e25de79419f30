import { defineConfig, mergeConfig } from 'vitest/config';
import root from '../../vitest.config.js';

const config = mergeConfig(
  root,
  defineConfig({
    test: {
      // Each scenario is one run of the conformance CLI (a Node 22 process): minutes, not seconds.
      testTimeout: 600_000,
      hookTimeout: 360_000,
    },
  }),
);
// mergeConfig concatenates arrays: this suite runs its own files only.
config.test = { ...config.test, include: ['test/conformance/**/*.test.ts'] };
export default config;
