import { defineConfig } from 'vitest/config';
import root from '../../vitest.config.js';

// The deploy suite: the Helm chart's config against the gateway's own schema, the Prometheus rules and the
// Grafana dashboard against the metrics the gateway exports. Needs helm (scripts/install-ci-tools.sh puts it
// in .cache/go-bin) and promtool (Debian's prometheus package); .ci/run installs both. No Redis needed.
// Spread rather than mergeConfig: mergeConfig would append to the root's include and globalSetup lists.
export default defineConfig({ ...root, test: { ...root.test, include: ['test/deploy/**/*.test.ts'], globalSetup: [] } });
