/**
 * Revocation by jti, by session and by "every token of this user issued before T"; across two
 * gateway instances sharing one Redis; through OIDC Back-Channel Logout; and both store-failure
 * policies with a private Redis actually stopped and restarted.
 */
import { SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair } from 'jose';
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

    it('signed by another key under the issuer\'s kid', async () => {
      const genuine = await stack.issuer.logoutToken({ sid: 'victim-session' });
      const { privateKey } = await generateKeyPair('RS256');
      const forged = await new SignJWT(decodeJwt(genuine))
        .setProtectedHeader({ alg: 'RS256', typ: 'logout+jwt', kid: decodeProtectedHeader(genuine).kid })
        .sign(privateKey);
      expectError(await logout({ logout_token: forged }), 400, 'AUTH_1007');
    });

    it('signed by a key the issuer never published: refused (400, or a retryable 503 while a key refetch cools down)', async () => {
      const claims = decodeJwt(await stack.issuer.logoutToken({ sid: 'victim-session' }));
      const { privateKey } = await generateKeyPair('RS256');
      const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'logout+jwt', kid: 'attacker' }).sign(privateKey);
      const response = await logout({ logout_token: forged });
      if (response.status === 503) expectError(response, 503, 'AUTH_1008', true);
      else expectError(response, 400, 'AUTH_1007');
      const victim = await stack.issuer.tokenFor('alice.chen', { sid: 'victim-session' });
      expect((await me(a, victim)).status).toBe(200);
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
      await waitFor(async () => (await api(`${gw.url}/health/ready`)).body.checks.store.ok === false, { what: 'readiness to report the store down' });
      // Degraded, not out of rotation: every replica shares this Redis (review GAP-001 and GAP-008).
      const ready = await api(`${gw.url}/health/ready`);
      expect(ready.status).toBe(200);
      expect(ready.body.status).toBe('degraded');
      expect(ready.body.checks.store).toMatchObject({ ok: false, state: 'down' });

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
      expect(ready.body.status).toBe('unhealthy');
      expect(ready.body.checks.revocations).toMatchObject({ ok: false, state: 'down' });

      await redis.restart();
      await waitFor(async () => (await api(`${gw.url}/api/me`, { token })).status === 200, {
        timeoutMs: 15_000,
        what: 'requests to succeed again after Redis returns',
      });
      expect(gw.gateway.revocations.isStale()).toBe(false);
    });
  });
});

describe('revocations survive a Redis restart without persistence', () => {
  let redis: PrivateRedis;
  let before: RunningGateway | undefined;
  let after: RunningGateway | undefined;

  beforeAll(async () => {
    // The private Redis keeps no AOF and no RDB: a restart empties it.
    redis = await startPrivateRedis();
  });

  afterAll(async () => {
    await after?.close();
    await before?.close();
    await redis?.stop();
  });

  it('a replica that held the revocations writes them back, so a replica started afterwards refuses the revoked tokens', async () => {
    const config = testConfig(stack, {
      store: { driver: 'redis', url: redis.url, keyPrefix: uniquePrefix('restore') },
      revocation: { resyncIntervalMs: 200 },
    });
    before = await startGateway(config);
    const admin = await stack.issuer.tokenFor('ops.admin');
    const revokedByJti = await stack.issuer.tokenFor('alice.chen');
    const revokedBySession = await stack.issuer.tokenFor('dan.okafor', { sid: 'session-to-forget' });
    const valid = await stack.issuer.tokenFor('alice.chen');
    expect((await api(`${before.url}/api/admin/revocations`, { token: admin, body: { jti: jtiOf(revokedByJti) } })).status).toBe(201);
    expect((await api(`${before.url}/api/admin/revocations`, { token: admin, body: { sid: 'session-to-forget' } })).status).toBe(201);
    const cutOff = new Date((nowSec() - 5) * 1000).toISOString();
    expect((await api(`${before.url}/api/admin/revocations`, { token: admin, body: { sub: subOf('carol.nguyen'), before: cutOff } })).status).toBe(201);
    const oldCarol = await stack.issuer.sign({ sub: subOf('carol.nguyen'), azp: 'mcp-gateway', typ: 'Bearer', iat: nowSec() - 60 });

    await redis.restart();
    // Once reconnected, the running replica finds the store's set emptier than its mirror and restores it.
    await waitFor(async () => (await before!.gateway.store.listExpiring('revocations').catch(() => [])).length >= 3, {
      timeoutMs: 20_000,
      what: 'the revocations to be written back',
    });

    after = await startGateway(config);
    expectError(await api(`${after.url}/api/me`, { token: revokedByJti }), 401, 'AUTH_1003');
    expectError(await api(`${after.url}/api/me`, { token: revokedBySession }), 401, 'AUTH_1003');
    expectError(await api(`${after.url}/api/me`, { token: oldCarol }), 401, 'AUTH_1003');
    expect((await api(`${after.url}/api/me`, { token: valid })).status).toBe(200);
  });
});
