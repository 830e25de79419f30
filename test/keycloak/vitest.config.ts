/**
 * The Keycloak suite (`npm run test:keycloak`): the root configuration, its own tests, and one real
 * Keycloak for the whole run (started by global-setup.ts). Files run one after another: they share
 * that server, change it through its admin API, and it is heavy enough on a small machine.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig, mergeConfig } from 'vitest/config';
import root from '../../vitest.config.js';

const { include: _rootInclude, ...rootTest } = root.test ?? {};

export default mergeConfig(
  { ...root, test: rootTest },
  defineConfig({
    // Paths below are the repository's, not this folder's.
    root: fileURLToPath(new URL('../..', import.meta.url)),
    test: {
      include: ['test/keycloak/**/*.test.ts'],
      globalSetup: ['test/keycloak/global-setup.ts'],
      fileParallelism: false,
      testTimeout: 60_000,
      hookTimeout: 120_000,
    },
  }),
);
