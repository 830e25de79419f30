import { defineConfig } from 'vitest/config';
import root from '../../vitest.config.js';

// Redis Sentinel and Redis Cluster, started by the tests from Debian's redis-server and redis-sentinel.
// Spread rather than mergeConfig: mergeConfig would append to the root's include list.
export default defineConfig({ ...root, test: { ...root.test, include: ['test/redis-topologies/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 120_000 } });
