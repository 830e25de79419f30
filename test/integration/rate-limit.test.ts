/**
 * Per-user rate limits sized by role tier, shared through Redis by every instance, with 429
 * RATE_4290 plus Retry-After and RateLimit-* headers; and the per-IP limit on failed authentication.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigOverrides } from '../helpers/stack.js';
import { deletePrefixedKeys } from '../helpers/redis.js';
import { api, redisStore, startGateway, startTestStack, testConfig, type RunningGateway, type TestStack } from '../helpers/stack.js';

type ApiResult = Awaited<ReturnType<typeof api>>;

const DEFAULT_LIMIT = 5;
const HR_READ_LIMIT = 8;

const tiers: ConfigOverrides = {
  limits: {
    tiers: [
      { name: 'hr-read', roles: ['hr-read'], requestsPerMinute: HR_READ_LIMIT, queriesPerHour: 50, tokensPerDay: 10_000 },
      { name: 'default', roles: [], requestsPerMinute: DEFAULT_LIMIT, queriesPerHour: 20, tokensPerDay: 10_000 },
    ],
  },
};

let stack: TestStack;
let a: RunningGateway;
let b: RunningGateway;

beforeAll(async () => {
  stack = await startTestStack();
  // One config (one key prefix) for both, as two replicas of one deployment.
  const config = testConfig(stack, { ...tiers, store: redisStore('rate-limit') });
  a = await startGateway(config);
  b = await startGateway(config);
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  await stack?.close();
  const store = a?.gateway.config.store;
  if (store?.driver === 'redis' && store.url !== undefined) await deletePrefixedKeys(store.url, store.keyPrefix);
});

const me = (gateway: RunningGateway, token: string): Promise<ApiResult> => api(`${gateway.url}/api/me`, { token });

function expectRateLimited(response: ApiResult, limit: number): void {
  expect(response.status).toBe(429);
  expect(response.body).toMatchObject({ error: { code: 'RATE_4290', retryable: true, requestId: response.headers.get('x-request-id') } });
  const retryAfter = Number(response.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(response.headers.get('ratelimit-limit')).toBe(String(limit));
  expect(response.headers.get('ratelimit-remaining')).toBe('0');
  const reset = Number(response.headers.get('ratelimit-reset'));
  expect(reset).toBeGreaterThanOrEqual(0);
  expect(reset).toBeLessThanOrEqual(60);
}

describe('per-user limits by tier', () => {
  it("the default tier's 6th request in a minute is 429 RATE_4290 with Retry-After and RateLimit-* headers", async () => {
    const token = await stack.issuer.tokenFor('frank.lee');
    for (let i = 1; i <= DEFAULT_LIMIT; i++) {
      const response = await me(a, token);
      expect(response.status).toBe(200);
      expect(response.headers.get('ratelimit-limit')).toBe(String(DEFAULT_LIMIT));
      expect(response.headers.get('ratelimit-remaining')).toBe(String(DEFAULT_LIMIT - i));
      expect(Number(response.headers.get('ratelimit-reset'))).toBeGreaterThan(0);
    }
    expectRateLimited(await me(a, token), DEFAULT_LIMIT);
    // A new token does not reset the count: the limit is per user, not per token.
    expectRateLimited(await me(a, await stack.issuer.tokenFor('frank.lee')), DEFAULT_LIMIT);
  });

  it('counters are separate per user: another user of the same tier is unaffected', async () => {
    const response = await me(a, await stack.issuer.tokenFor('carol.nguyen'));
    expect(response.status).toBe(200);
    expect(response.headers.get('ratelimit-remaining')).toBe(String(DEFAULT_LIMIT - 1));
  });

  it("a user in a higher tier gets that tier's own count", async () => {
    const token = await stack.issuer.tokenFor('alice.chen'); // hr-read
    for (let i = 1; i <= HR_READ_LIMIT; i++) {
      const response = await me(a, token);
      expect(response.status).toBe(200);
      expect(response.headers.get('ratelimit-limit')).toBe(String(HR_READ_LIMIT));
    }
    expectRateLimited(await me(a, token), HR_READ_LIMIT);
  });

  it('the count is shared by two instances on one Redis', async () => {
    const token = await stack.issuer.tokenFor('dan.okafor');
    for (let i = 1; i <= DEFAULT_LIMIT; i++) {
      const response = await me(i % 2 === 0 ? b : a, token);
      expect(response.status).toBe(200);
      expect(response.headers.get('ratelimit-remaining')).toBe(String(DEFAULT_LIMIT - i));
    }
    expectRateLimited(await me(b, token), DEFAULT_LIMIT);
    expectRateLimited(await me(a, token), DEFAULT_LIMIT);
  });
});

describe('anonymous (per client IP) limit on failed authentication', () => {
  let gw: RunningGateway;
  const ANONYMOUS_LIMIT = 3;

  beforeAll(async () => {
    gw = await startGateway(testConfig(stack, { limits: { anonymousRequestsPerMinute: ANONYMOUS_LIMIT } }));
  });

  afterAll(async () => {
    await gw?.close();
  });

  it('repeated bad tokens from one IP end in 429; a valid token from that IP is still served', async () => {
    for (let i = 0; i < ANONYMOUS_LIMIT; i++) {
      const response = await me(gw, 'not.a.token');
      expect(response.status).toBe(401);
      expect(response.body.error.code).toBe('AUTH_1002');
    }
    expectRateLimited(await me(gw, 'not.a.token'), ANONYMOUS_LIMIT);
    // Only failures count and only failures are refused: others behind the same IP (a NAT) keep working.
    expect((await me(gw, await stack.issuer.tokenFor('frank.lee'))).status).toBe(200);
    expectRateLimited(await me(gw, 'not.a.token'), ANONYMOUS_LIMIT);
    // Unauthenticated routes are not behind the limit.
    expect((await api(`${gw.url}/health/live`)).status).toBe(200);
  });
});
