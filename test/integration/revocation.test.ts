/**
 * Revocation by jti, by session and by "every token of this user issued before T"; across two
 * gateway instances sharing one Redis; through OIDC Back-Channel Logout; and both store-failure
 * policies with a private Redis actually stopped and restarted.
 */
import { SignJWT, decodeJwt, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDemoUser } from '../../src/dev/demo-users.js';
import { deletePrefixedKeys, startPrivateRedis, uniquePrefix, type PrivateRedis } from '../helpers/redis.js';
import { api, redisStore, startGateway, startTestStack, testConfig, waitFor, type RunningGateway, type TestStack } from '../helpers/stack.js';

type ApiResult = Awaited<ReturnType<typeof api>>;

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});

afterAll(async () => {
  await stack?.close();
});

function expectError(response: ApiResult, status: number, code: string, retryable = false): void {
  expect(response.status).toBe(status);
  expect(response.body).toMatchObject({ error: { code, requestId: response.headers.get('x-request-id'), retryable } });
}

function subOf(username: string): string {
  const user = findDemoUser(username);
  if (user === undefined) throw new Error(`no demo user ${username}`);
  return user.sub;
}

function jtiOf(token: string): string {
  const { jti } = decodeJwt(token);
  if (typeof jti !== 'string') throw new Error('token without jti');
  return jti;
}

const nowSec = (): number => Math.floor(Date.now() / 1000);

describe('revocation across two gateway instances sharing one Redis', () => {
  let a: RunningGateway;
  let b: RunningGateway;
  let adminToken: string;

  const me = (gateway: RunningGateway, token: string): Promise<ApiResult> => api(`${gateway.url}/api/me`, { token });
  const revoke = (body: unknown): Promise<ApiResult> => api(`${a.url}/api/admin/revocations`, { token: adminToken, body });

  beforeAll(async () => {
    // One config (one key prefix) for both, as two replicas of one deployment.
    const config = testConfig(stack, { store: redisStore('revocation') });
    a = await startGateway(config);
    b = await startGateway(config);
    adminToken = await stack.issuer.tokenFor('ops.admin');
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    const store = a?.gateway.config.store;
    if (store?.driver === 'redis' && store.url !== undefined) await deletePrefixedKeys(store.url, store.keyPrefix);
  });

  it('by jti: the revoked token is refused with AUTH_1003, an unrelated token still works', async () => {
    const revoked = await stack.issuer.tokenFor('alice.chen');
    const unrelated = await stack.issuer.tokenFor('alice.chen');
    expect((await me(a, revoked)).status).toBe(200);

    const response = await revoke({ jti: jtiOf(revoked) });
    expect(response.status).toBe(201);
    expect(response.body.revoked).toEqual({ kind: 'jti', jti: jtiOf(revoked) });

    expectError(await me(a, revoked), 401, 'AUTH_1003');
    expect((await me(a, unrelated)).status).toBe(200);
  });

  it('by sid: every token of the session is refused, other sessions still work', async () => {
    const sid = `session-${uniquePrefix('sid')}`;
    const first = await stack.issuer.tokenFor('carol.nguyen', { sid });
    const second = await stack.issuer.tokenFor('carol.nguyen', { sid });
    const otherSession = await stack.issuer.tokenFor('carol.nguyen');

    expect((await revoke({ sid })).status).toBe(201);

    expectError(await me(a, first), 401, 'AUTH_1003');
    expectError(await me(a, second), 401, 'AUTH_1003');
    expect((await me(a, otherSession)).status).toBe(200);
  });

  it('by sub before a time: older tokens of that user are refused, newer ones and other users work', async () => {
    const old = await stack.issuer.tokenFor('bob.martinez');
    const otherUser = await stack.issuer.tokenFor('dan.okafor');
    const issuedAt = decodeJwt(old).iat;
    if (issuedAt === undefined) throw new Error('token without iat');
    const cutOffSec = issuedAt + 1;

    expect((await revoke({ sub: subOf('bob.martinez'), before: new Date(cutOffSec * 1000).toISOString() })).status).toBe(201);

    expectError(await me(a, old), 401, 'AUTH_1003');
    expect((await me(a, otherUser)).status).toBe(200);

    // `iat` has one-second resolution: wait until a new token's iat is at or after the cut-off.
    await waitFor(() => nowSec() >= cutOffSec, { what: 'the clock to pass the cut-off' });
    const fresh = await stack.issuer.tokenFor('bob.martinez');
    expect(decodeJwt(fresh).iat).toBeGreaterThanOrEqual(cutOffSec);
    expect((await me(a, fresh)).status).toBe(200);
  });

  it('a revocation made on instance A is enforced by instance B within 1 s', async () => {
    const token = await stack.issuer.tokenFor('eve.thompson');
    expect((await me(b, token)).status).toBe(200);

    expect((await revoke({ jti: jtiOf(token) })).status).toBe(201);

    await waitFor(async () => (await me(b, token)).status === 401, { timeoutMs: 1_000, what: 'instance B to refuse the token' });
    expectError(await me(b, token), 401, 'AUTH_1003');
  });

  it('a sub-before revocation also reaches instance B within 1 s', async () => {
    const token = await stack.issuer.tokenFor('frank.lee');
    expect((await me(b, token)).status).toBe(200);
    const before = new Date(((decodeJwt(token).iat ?? 0) + 1) * 1000).toISOString();

    expect((await revoke({ sub: subOf('frank.lee'), before })).status).toBe(201);

    await waitFor(async () => (await me(b, token)).status === 401, { timeoutMs: 1_000, what: 'instance B to refuse the token' });
  });

  it('back-channel logout revokes the session on every instance', async () => {
    const sid = `logout-${uniquePrefix('sid')}`;
    const token = await stack.issuer.tokenFor('dan.okafor', { sid });
    const otherSession = await stack.issuer.tokenFor('dan.okafor');
    expect((await me(b, token)).status).toBe(200);

    const response = await api(`${a.url}/backchannel-logout`, {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: await stack.issuer.logoutToken({ sid }) }).toString(),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');

    expectError(await me(a, token), 401, 'AUTH_1003');
    await waitFor(async () => (await me(b, token)).status === 401, { timeoutMs: 1_000, what: 'instance B to refuse the session' });
    expect((await me(a, otherSession)).status).toBe(200);
  });

  describe('malformed or forged logout tokens are 400 AUTH_1007', () => {
    const logout = (form: Record<string, string>): Promise<ApiResult> =>
      api(`${a.url}/backchannel-logout`, {
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form).toString(),
      });

    it('garbage', async () => {
      expectError(await logout({ logout_token: 'not-a-jwt' }), 400, 'AUTH_1007');
    });

    it('missing', async () => {
      expectError(await logout({}), 400, 'AUTH_1007');
    });

    it('signed by another key', async () => {
      const claims = decodeJwt(await stack.issuer.logoutToken({ sid: 'victim-session' }));
      const { privateKey } = await generateKeyPair('RS256');
      const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'logout+jwt', kid: 'attacker' }).sign(privateKey);
      expectError(await logout({ logout_token: forged }), 400, 'AUTH_1007');
    });

    it('an access token passed off as a logout token', async () => {
      const victim = await stack.issuer.tokenFor('alice.chen');
      expectError(await logout({ logout_token: victim }), 400, 'AUTH_1007');
      // Nothing was revoked by the attempt.
      expect((await me(a, victim)).status).toBe(200);
    });

    it('a signed token with the logout event but a nonce (an ID token must never pass as a logout token)', async () => {
      const token = await stack.issuer.sign({
        aud: 'mcp-gateway',
        jti: 'x',
        sid: 'some-session',
        nonce: 'n',
        events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
      });
      expectError(await logout({ logout_token: token }), 400, 'AUTH_1007');
    });
  });
});

describe('store failure policies, with Redis stopped and restarted', () => {
  describe('fail-open (the default)', () => {
    let redis: PrivateRedis;
    let gw: RunningGateway;

    beforeAll(async () => {
      redis = await startPrivateRedis();
      gw = await startGateway(
        testConfig(stack, {
          store: { driver: 'redis', url: redis.url, keyPrefix: uniquePrefix('fail-open') },
          revocation: { resyncIntervalMs: 100 },
        }),
      );
    });

    afterAll(async () => {
      await gw?.close();
      await redis?.stop();
    });

    it('keeps serving from the mirror while Redis is down, and readiness shows the store down until it returns', async () => {
      expect(gw.gateway.config.revocation.onStoreError).toBe('fail-open');
      const admin = await stack.issuer.tokenFor('ops.admin');
      const revoked = await stack.issuer.tokenFor('alice.chen');
      const valid = await stack.issuer.tokenFor('alice.chen');
      expect((await api(`${gw.url}/api/admin/revocations`, { token: admin, body: { jti: jtiOf(revoked) } })).status).toBe(201);

      await redis.stop();
      await waitFor(async () => (await api(`${gw.url}/health/ready`)).status === 503, { what: 'readiness to report the store down' });
      const ready = await api(`${gw.url}/health/ready`);
      expect(ready.body.status).toBe('unready');
      expect(ready.body.checks.store).toMatchObject({ ok: false, kind: 'hard' });

      expect((await api(`${gw.url}/api/me`, { token: valid })).status).toBe(200);
      expect((await api(`${gw.url}/api/me`, { token: await stack.issuer.tokenFor('frank.lee') })).status).toBe(200);
      expectError(await api(`${gw.url}/api/me`, { token: revoked }), 401, 'AUTH_1003');
      // A new revocation cannot be recorded while the store is down: a retryable 503, not a 500.
      expectError(await api(`${gw.url}/api/admin/revocations`, { token: admin, body: { jti: jtiOf(valid) } }), 503, 'GATEWAY_9002', true);

      await redis.restart();
      await waitFor(async () => (await api(`${gw.url}/health/ready`)).body.checks.store.ok === true, {
        timeoutMs: 15_000,
        what: 'readiness to report the store up again',
      });
      expectError(await api(`${gw.url}/api/me`, { token: revoked }), 401, 'AUTH_1003');
      expect((await api(`${gw.url}/api/me`, { token: valid })).status).toBe(200);
    });
  });

  describe('fail-closed', () => {
    let redis: PrivateRedis;
    let gw: RunningGateway;

    beforeAll(async () => {
      redis = await startPrivateRedis();
      gw = await startGateway(
        testConfig(stack, {
          store: { driver: 'redis', url: redis.url, keyPrefix: uniquePrefix('fail-closed') },
          // A bound well above the resync interval, so a busy machine does not trip it while Redis is up.
          revocation: { onStoreError: 'fail-closed', maxStalenessMs: 600, resyncIntervalMs: 100 },
        }),
      );
    });

    afterAll(async () => {
      await gw?.close();
      await redis?.stop();
    });

    it('refuses with a retryable 503 AUTH_1005 once the mirror is staler than the bound, and recovers with Redis', async () => {
      const token = await stack.issuer.tokenFor('frank.lee');
      expect((await api(`${gw.url}/api/me`, { token })).status).toBe(200);

      await redis.stop();
      await waitFor(async () => (await api(`${gw.url}/api/me`, { token })).status === 503, { what: 'fail-closed refusals' });
      const refused = await api(`${gw.url}/api/me`, { token });
      expectError(refused, 503, 'AUTH_1005', true);
      expect(gw.gateway.revocations.stalenessMs()).toBeGreaterThan(600);
      const ready = await api(`${gw.url}/health/ready`);
      expect(ready.status).toBe(503);
      expect(ready.body.checks.revocations).toMatchObject({ ok: false, kind: 'hard' });

      await redis.restart();
      await waitFor(async () => (await api(`${gw.url}/api/me`, { token })).status === 200, {
        timeoutMs: 15_000,
        what: 'requests to succeed again after Redis returns',
      });
      expect(gw.gateway.revocations.isStale()).toBe(false);
    });
  });
});
