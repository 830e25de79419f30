/**
 * The readiness matrix (review GAP-008), row by row, each with its dependencies really stopped: a
 * private redis-server killed, a dev issuer closed, sample MCP servers closed. healthy and degraded
 * answer 200 (the load balancer keeps the replica), unhealthy and shutting-down 503.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEV_CLIENT_ID, startDevIssuer, type DevIssuer } from '../../src/dev/dev-issuer.js';
import { startSampleServers, closeSampleServers, type SampleServers } from '../../src/dev/sample-servers/index.js';
import type { ConfigOverrides } from '../helpers/stack.js';
import { api, startGateway, startTestStack, testConfig, waitFor, type RunningGateway, type TestStack } from '../helpers/stack.js';
import { startPrivateRedis, uniquePrefix, type PrivateRedis } from '../helpers/redis.js';

const SERVER_NAMES = ['hr', 'finance', 'sales', 'support'] as const;

let stack: TestStack;
let redis: PrivateRedis;
/** What each test started, closed after it whatever happened. */
let cleanup: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  stack = await startTestStack();
  redis = await startPrivateRedis();
});

afterEach(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
  cleanup = [];
});

afterAll(async () => {
  await redis?.stop();
  await stack?.close();
});

interface Deps {
  redisStore?: boolean;
  ownIssuer?: DevIssuer;
  ownServers?: SampleServers;
  overrides?: ConfigOverrides;
}

async function ownIssuer(): Promise<DevIssuer> {
  const issuer = await startDevIssuer({ clientId: DEV_CLIENT_ID });
  // Closing an issuer a test already stopped throws; the cleanup ignores that.
  cleanup.push(() => issuer.close());
  return issuer;
}

async function ownServers(): Promise<SampleServers> {
  const servers = await startSampleServers(stack.sampleServerOptions);
  cleanup.push(() => closeSampleServers(servers));
  return servers;
}

async function gatewayWith(deps: Deps): Promise<RunningGateway> {
  const servers = deps.ownServers;
  const overrides: ConfigOverrides = {
    // Background work (key refresh, catalogue refresh, mirror resync) is what notices an outage.
    auth: { jwksRefreshIntervalMs: 1_000, jwksCooldownMs: 500, ...(deps.ownIssuer === undefined ? {} : { issuers: [deps.ownIssuer.issuerUrl], jwksUri: deps.ownIssuer.jwksUri }) },
    upstream: { retry: { attempts: 1 }, connectTimeoutMs: 1_000, catalogueRefreshMs: 500 },
    revocation: { resyncIntervalMs: 200 },
    ...(deps.redisStore === true ? { store: { driver: 'redis', url: redis.url, keyPrefix: uniquePrefix('health') } } : {}),
    ...(servers === undefined ? {} : { servers: Object.fromEntries(SERVER_NAMES.map((name) => [name, { url: servers[name].url }])) }),
  };
  const merged: ConfigOverrides = { ...overrides, ...deps.overrides, revocation: { ...overrides.revocation, ...deps.overrides?.revocation } };
  const gateway = await startGateway(testConfig(stack, merged));
  cleanup.push(() => gateway.close());
  if (deps.redisStore === true) cleanup.push(() => redis.restart());
  await gateway.gateway.tools.catalogue.loaded();
  return gateway;
}

interface Readiness {
  httpStatus: number;
  status: string;
  reasons: string[];
  checks: Record<string, { ok: boolean; state: string; role: string; detail?: string }>;
}

async function readiness(gateway: RunningGateway): Promise<Readiness> {
  const { status, body } = await api(`${gateway.url}/health/ready`);
  return { httpStatus: status, ...(body as Omit<Readiness, 'httpStatus'>) };
}

/** Polls until readiness says `status` (the outage must first be noticed by background work). */
async function until(gateway: RunningGateway, status: string, what: string): Promise<Readiness> {
  let last: Readiness | undefined;
  await waitFor(
    async () => {
      last = await readiness(gateway);
      return last.status === status;
    },
    { timeoutMs: 20_000, intervalMs: 100, what: `${what} (last: ${JSON.stringify(last)})` },
  );
  if (last === undefined) throw new Error('no readiness answer');
  return last;
}

function down(report: Readiness): string[] {
  return Object.entries(report.checks)
    .filter(([, check]) => !check.ok)
    .map(([name]) => name)
    .sort();
}

describe('readiness matrix (GAP-008)', () => {
  it('everything up → 200 healthy, every upstream listed', async () => {
    const gateway = await gatewayWith({ redisStore: true });
    // An upstream slow to connect on a busy machine is already "healthy"; wait for every check to pass.
    await waitFor(async () => down(await readiness(gateway)).length === 0, { timeoutMs: 20_000, what: 'every check up' });
    const report = await readiness(gateway);
    expect(report.status).toBe('healthy');
    expect(report.httpStatus).toBe(200);
    expect(report.reasons).toEqual([]);
    expect(down(report)).toEqual([]);
    for (const name of SERVER_NAMES) expect(report.checks[`upstream:${name}`]).toMatchObject({ role: 'upstream', state: 'up', ok: true });
    expect(report.checks.store).toMatchObject({ role: 'store', state: 'up' });
    expect(report.checks.issuer).toMatchObject({ role: 'identity-provider', state: 'up' });
    expect((await api(`${gateway.url}/health/live`)).status).toBe(200);
  });

  it('one upstream down → 200 healthy, with that upstream reported', async () => {
    const servers = await ownServers();
    const gateway = await gatewayWith({ ownServers: servers });
    await servers.hr.close();
    await waitFor(async () => (await readiness(gateway)).checks['upstream:hr']?.ok === false, { timeoutMs: 20_000, what: 'hr reported down' });
    const report = await readiness(gateway);
    expect(report.httpStatus).toBe(200);
    expect(report.status).toBe('healthy');
    expect(down(report)).toEqual(['upstream:hr']);
    expect(report.checks['upstream:hr']).toMatchObject({ state: 'down', role: 'upstream' });
  });

  it('every upstream down → 200 degraded (all replicas share them: pulling one helps nobody)', async () => {
    const servers = await ownServers();
    const gateway = await gatewayWith({ ownServers: servers });
    await closeSampleServers(servers);
    const report = await until(gateway, 'degraded', 'every upstream reported down');
    expect(report.httpStatus).toBe(200);
    expect(down(report)).toEqual(SERVER_NAMES.map((name) => `upstream:${name}`).sort());
    expect(report.reasons.join(' ')).toMatch(/every upstream/);
  });

  it('store down under fail-open → 200 degraded, and tokens are still served', async () => {
    const gateway = await gatewayWith({ redisStore: true });
    await until(gateway, 'healthy', 'healthy before the outage');
    await redis.stop();
    const report = await until(gateway, 'degraded', 'the store reported down');
    expect(report.httpStatus).toBe(200);
    expect(report.checks.store).toMatchObject({ state: 'down', ok: false });
    expect(down(report).filter((name) => name !== 'revocations')).toEqual(['store']);
    expect((await api(`${gateway.url}/api/me`, { token: await stack.issuer.tokenFor('frank.lee') })).status).toBe(200);
  });

  it('store down under fail-closed → degraded while the mirror is fresh, 503 unhealthy once it is stale', async () => {
    const gateway = await gatewayWith({ redisStore: true, overrides: { revocation: { onStoreError: 'fail-closed', maxStalenessMs: 8_000 } } });
    await until(gateway, 'healthy', 'healthy before the outage');
    await redis.stop();
    const fresh = await until(gateway, 'degraded', 'the store reported down');
    expect(fresh.httpStatus).toBe(200);
    expect(fresh.checks.revocations).toMatchObject({ state: 'up' });
    const stale = await until(gateway, 'unhealthy', 'the mirror to go stale');
    expect(stale.httpStatus).toBe(503);
    expect(stale.checks.revocations).toMatchObject({ state: 'down', ok: false });
    expect(gateway.gateway.revocations.isStale()).toBe(true);
  });

  it('identity provider down while its keys are cached → 200 degraded, tokens still verified', async () => {
    const issuer = await ownIssuer();
    const gateway = await gatewayWith({ ownIssuer: issuer });
    await until(gateway, 'healthy', 'keys fetched');
    const token = await issuer.tokenFor('alice.chen');
    await issuer.close();
    const report = await until(gateway, 'degraded', 'the identity provider reported unreachable');
    expect(report.httpStatus).toBe(200);
    expect(report.checks.issuer).toMatchObject({ state: 'degraded', ok: false, role: 'identity-provider' });
    expect(report.checks.issuer?.detail).toMatch(/cached/);
    expect((await api(`${gateway.url}/api/me`, { token })).status).toBe(200);
  });

  it('identity provider never reached (no keys) → 503 unhealthy', async () => {
    const issuer = await ownIssuer();
    await issuer.close();
    const gateway = await gatewayWith({ ownIssuer: issuer });
    const report = await readiness(gateway);
    expect(report.httpStatus).toBe(503);
    expect(report.status).toBe('unhealthy');
    expect(report.checks.issuer).toMatchObject({ state: 'down' });
  });

  it('store and identity provider both down → 503 unhealthy', async () => {
    const issuer = await ownIssuer();
    const gateway = await gatewayWith({ redisStore: true, ownIssuer: issuer });
    await until(gateway, 'healthy', 'healthy before the outage');
    await issuer.close();
    await redis.stop();
    const report = await until(gateway, 'unhealthy', 'store and identity provider down');
    expect(report.httpStatus).toBe(503);
    expect(report.checks.store).toMatchObject({ state: 'down' });
    expect(report.checks.issuer).toMatchObject({ state: 'degraded' });
    expect(report.reasons.join(' ')).toMatch(/both down/);
  });

  it('everything down (store, identity provider, every upstream) → 503 unhealthy, liveness still 200', async () => {
    const issuer = await ownIssuer();
    const servers = await ownServers();
    const gateway = await gatewayWith({ redisStore: true, ownIssuer: issuer, ownServers: servers });
    await until(gateway, 'healthy', 'healthy before the outage');
    await Promise.all([issuer.close(), redis.stop(), closeSampleServers(servers)]);
    await waitFor(async () => down(await readiness(gateway)).length >= 6, { timeoutMs: 20_000, what: 'every dependency reported down' });
    const report = await readiness(gateway);
    expect(report.httpStatus).toBe(503);
    expect(report.status).toBe('unhealthy');
    expect(down(report)).toEqual(expect.arrayContaining(['issuer', 'store', ...SERVER_NAMES.map((name) => `upstream:${name}`)]));
    expect((await api(`${gateway.url}/health/live`)).status).toBe(200);
  });
});
