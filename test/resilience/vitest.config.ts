import { defineConfig } from 'vitest/config';
import root from '../../vitest.config.js';

// The fault suite (issue 8): gateway replicas as child processes on a private redis-server that the
// tests kill and restart, SIGTERM with live streams, upstreams that hang or die. Spread rather than
// mergeConfig, which would append to the root's include list. Scenarios run one at a time.
export default defineConfig({
  ...root,
  test: { ...root.test, include: ['test/resilience/**/*.test.ts'], testTimeout: 150_000, hookTimeout: 60_000, fileParallelism: false },
});
