/**
 * The readiness matrix (review GAP-008): hard dependencies (store, issuer) decide readiness, soft
 * ones (each upstream, the model) only degrade it. Each row is a gateway whose dependency is really
 * down: a stopped redis-server, a closed issuer, a closed MCP server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigOverrides } from '../helpers/stack.js';
import { api, startGateway, startTestStack, testConfig, type RunningGateway, type TestStack } from '../helpers/stack.js';
import { freePort } from '../helpers/ports.js';
import { startPrivateRedis, uniquePrefix, type PrivateRedis } from '../helpers/redis.js';

let stack: TestStack;
let redis: PrivateRedis;
let closedUrl: string;


beforeAll(async () => {
  stack = await startTestStack();
  redis = await startPrivateRedis();
  closedUrl = `http://127.0.0.1:${await freePort()}`;
});

afterAll(async () => {
  await redis?.stop();
  await stack?.close();
});

interface Row {
  name: string;
  overrides: () => ConfigOverrides;
  /** What to break after the gateway started. */
  breakIt?: () => Promise<void>;
  repair?: () => Promise<void>;
  status: number;
  readiness: string;
  down: string[];
}

const rows: Row[] = [
  { name: 'everything up', overrides: () => ({}), status: 200, readiness: 'ready', down: [] },
  {
    name: 'one MCP server down (soft)',
    overrides: () => ({ servers: { hr: { url: `${closedUrl}/mcp` } } }),
    status: 200,
    readiness: 'degraded',
    down: ['upstream:hr'],
  },
  {
    name: 'Redis down (hard)',
    overrides: () => ({ store: { driver: 'redis', url: redis.url, keyPrefix: uniquePrefix('health') } }),
    breakIt: () => redis.stop(),
    repair: () => redis.restart(),
    status: 503,
    readiness: 'unready',
    down: ['store'],
  },
  {
    name: 'identity provider down (hard)',
    overrides: () => ({ auth: { jwksUri: `${closedUrl}/jwks` } }),
    status: 503,
    readiness: 'unready',
    down: ['issuer'],
  },
  {
    name: 'all down',
    overrides: () => ({
      auth: { jwksUri: `${closedUrl}/jwks` },
      servers: Object.fromEntries(['hr', 'finance', 'sales', 'support'].map((name) => [name, { url: `${closedUrl}/mcp` }])),
    }),
    status: 503,
    readiness: 'unready',
    down: ['issuer', 'upstream:hr', 'upstream:finance', 'upstream:sales', 'upstream:support'],
  },
];

describe('readiness matrix', () => {
  it.each(rows)('$name → $status $readiness', async (row) => {
    let gateway: RunningGateway | undefined;
    try {
      gateway = await startGateway(testConfig(stack, { ...row.overrides(), upstream: { retry: { attempts: 1 }, connectTimeoutMs: 1_000 } }));
      await gateway.gateway.tools.catalogue.loaded();
      await row.breakIt?.();
      const { status, body } = await api(`${gateway.url}/health/ready`);
      expect(status).toBe(row.status);
      expect(body.status).toBe(row.readiness);
      const down = Object.entries(body.checks as Record<string, { ok: boolean }>)
        .filter(([, check]) => !check.ok)
        .map(([name]) => name)
        .sort();
      expect(down).toEqual([...row.down].sort());
      expect(body.checks.store.kind).toBe('hard');
      expect(body.checks['upstream:hr'].kind).toBe('soft');
      // Liveness is about the process only.
      expect((await api(`${gateway.url}/health/live`)).status).toBe(200);
    } finally {
      await row.repair?.();
      await gateway?.close();
    }
  });
});
