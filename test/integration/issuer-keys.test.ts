/**
 * The identity provider's keys as the gateway holds them, against the dev issuer behind a relay
 * that counts JWKS fetches, can withdraw keys from what it serves, and can be stopped and restarted
 * on the same port (an identity provider outage):
 * - unknown kids cause at most one fetch per cooldown, and a junk kid cannot hold up a real key
 *   rotation for longer than that cooldown (meanwhile: a retryable 503 with Retry-After);
 * - a key the provider withdraws stops counting within the background refresh interval;
 * - while the provider is down, cached keys keep verifying (readiness degraded) up to jwksMaxStaleMs,
 *   and nothing a client sends changes readiness;
 * - ID tokens of providers that mark no `typ` are refused, and RFC 9068 `at+jwt` can be required.
 */
import { createServer, type Server } from 'node:http';
import { SignJWT, generateKeyPair } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEV_CLIENT_ID, startDevIssuer, type DevIssuer } from '../../src/dev/dev-issuer.js';
import { freePort } from '../helpers/ports.js';
import { api, startGateway, startTestStack, testConfig, waitFor, type ConfigOverrides, type RunningGateway, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
let cleanup: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  stack = await startTestStack();
});

afterEach(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
  cleanup = [];
});

afterAll(async () => {
  await stack?.close();
});

interface Relay {
  readonly url: string;
  fetches(): number;
  /** Serve the issuer's key set without these kids (the provider withdrew them). */
  withdraw(kid: string): void;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** Relays GETs of the JWKS to an issuer, counting them; stoppable and restartable on one port. */
async function jwksRelay(issuer: DevIssuer): Promise<Relay> {
  const port = await freePort();
  let fetches = 0;
  const withdrawn = new Set<string>();
  let server: Server | undefined;
  const start = async (): Promise<void> => {
    server = createServer((_request, response) => {
      fetches += 1;
      void fetch(issuer.jwksUri)
        .then(async (upstream) => {
          const jwks = (await upstream.json()) as { keys: Array<{ kid?: string }> };
          const body = JSON.stringify({ keys: jwks.keys.filter((key) => key.kid === undefined || !withdrawn.has(key.kid)) });
          response.writeHead(upstream.status, { 'content-type': 'application/json' }).end(body);
        })
        .catch(() => response.writeHead(502).end());
    });
    await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
  };
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      if (server === undefined) return resolve();
      const closing = server;
      server = undefined;
      closing.closeAllConnections();
      closing.close(() => resolve());
    });
  await start();
  cleanup.push(stop);
  return { url: `http://127.0.0.1:${port}/jwks`, fetches: () => fetches, withdraw: (kid) => withdrawn.add(kid), stop, start };
}

async function ownIssuer(): Promise<DevIssuer> {
  const issuer = await startDevIssuer({ clientId: DEV_CLIENT_ID });
  cleanup.push(() => issuer.close());
  return issuer;
}

async function gatewayFor(issuer: DevIssuer, jwksUri: string, auth: ConfigOverrides['auth'] = {}): Promise<RunningGateway> {
  const gateway = await startGateway(testConfig(stack, { auth: { issuers: [issuer.issuerUrl], jwksUri, ...auth } }));
  cleanup.push(() => gateway.close());
  return gateway;
}

let forgingKey: Promise<Awaited<ReturnType<typeof generateKeyPair>>['privateKey']> | undefined;

/** A token signed by a key the issuer never published (one key for all: RSA key generation is slow). */
async function forged(kid: string, issuer = stack.issuer.issuerUrl): Promise<string> {
  forgingKey ??= generateKeyPair('RS256').then((pair) => pair.privateKey);
  const privateKey = await forgingKey;
  return new SignJWT({ sub: 'mallory', azp: 'mcp-gateway', typ: 'Bearer' })
    .setProtectedHeader({ alg: 'RS256', kid })
    .setIssuer(issuer)
    .setExpirationTime('5m')
    .sign(privateKey);
}

const me = (gateway: RunningGateway, token: string) => api(`${gateway.url}/api/me`, { token });
const readiness = async (gateway: RunningGateway) => (await api(`${gateway.url}/health/ready`)).body as { status: string; checks: Record<string, { state: string }> };

describe('unknown kids', () => {
  it('cause at most one fetch per cooldown however many arrive; meanwhile they get a retryable 503 AUTH_1008', async () => {
    const relay = await jwksRelay(stack.issuer);
    const gateway = await startGateway(testConfig(stack, { auth: { jwksUri: relay.url, jwksRefreshIntervalMs: 300_000, jwksCooldownMs: 60_000 } }));
    cleanup.push(() => gateway.close());
    const valid = await stack.issuer.tokenFor('alice.chen');
    expect((await me(gateway, valid)).status).toBe(200);
    const baseline = relay.fetches();
    const codes = new Set<string>();
    for (let index = 0; index < 25; index += 1) {
      const response = await me(gateway, await forged(`forged-${index}`));
      codes.add(response.body.error.code);
      if (response.status === 503) {
        expect(response.body.error).toMatchObject({ code: 'AUTH_1008', retryable: true });
        expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      } else {
        expect(response.status).toBe(401);
        expect(response.body.error).toMatchObject({ code: 'AUTH_1002', details: { reason: 'unknown signing key' } });
      }
    }
    expect(relay.fetches() - baseline).toBeLessThanOrEqual(1);
    expect(codes.has('AUTH_1008')).toBe(true);
    // Valid tokens keep working from the cached keys, and readiness never moved.
    expect((await me(gateway, valid)).status).toBe(200);
    expect((await readiness(gateway)).status).toBe('healthy');
  });

  it("another issuer's tokens are refused at once (401, never a retryable 503) and cost no fetch, even within a cooldown", async () => {
    const relay = await jwksRelay(stack.issuer);
    const gateway = await startGateway(testConfig(stack, { auth: { jwksUri: relay.url, jwksRefreshIntervalMs: 300_000, jwksCooldownMs: 60_000 } }));
    cleanup.push(() => gateway.close());
    expect((await me(gateway, await stack.issuer.tokenFor('alice.chen'))).status).toBe(200);
    // Spend the fetch the cooldown allows, so an unknown kid of our issuer would now get 503.
    await me(gateway, await forged('junk'));
    expect((await me(gateway, await forged('junk-2'))).status).toBe(503);
    const baseline = relay.fetches();
    for (const kid of ['other-realm-key', 'another']) {
      const response = await me(gateway, await forged(kid, 'http://127.0.0.1:1/realms/master'));
      expect(response.status).toBe(401);
      expect(response.body.error).toMatchObject({ code: 'AUTH_1002', details: { reason: 'claim iss unexpected' } });
    }
    expect(relay.fetches()).toBe(baseline);
  });

  it('a junk kid holds up a real key rotation for at most the cooldown', async () => {
    const issuer = await ownIssuer();
    const gateway = await gatewayFor(issuer, issuer.jwksUri, { jwksCooldownMs: 2_000 });
    expect((await me(gateway, await issuer.tokenFor('alice.chen'))).status).toBe(200);
    // Junk first: it spends the fetch the cooldown allows.
    await me(gateway, await forged('junk', issuer.issuerUrl));
    await issuer.rotateKey();
    const rotated = await issuer.tokenFor('alice.chen');
    const first = await me(gateway, rotated);
    if (first.status !== 200) {
      expect(first.status).toBe(503);
      expect(first.body.error).toMatchObject({ code: 'AUTH_1008', retryable: true });
      const retryAfterSec = Number(first.headers.get('retry-after'));
      expect(retryAfterSec).toBeGreaterThanOrEqual(1);
      expect(retryAfterSec).toBeLessThanOrEqual(2);
    }
    // A client that honours Retry-After gets in.
    await waitFor(async () => (await me(gateway, rotated)).status === 200, { timeoutMs: 10_000, intervalMs: 250, what: 'the rotated key to be fetched' });
  });
});

describe('key withdrawal', () => {
  it('a key the provider withdraws stops counting by the next background refresh, cached verdicts included', async () => {
    const issuer = await ownIssuer();
    const relay = await jwksRelay(issuer);
    const gateway = await gatewayFor(issuer, relay.url, { jwksRefreshIntervalMs: 1_000, jwksCooldownMs: 500 });
    const oldKid = issuer.currentKid;
    const oldToken = await issuer.tokenFor('alice.chen');
    expect((await me(gateway, oldToken)).status).toBe(200);
    await issuer.rotateKey();
    relay.withdraw(oldKid);
    const fetchesAtWithdrawal = relay.fetches();
    await waitFor(() => relay.fetches() > fetchesAtWithdrawal + 1, { timeoutMs: 15_000, what: 'a background refresh after the withdrawal' });
    // Never accepted again: refused at once (a retryable 503 within the refetch cooldown, then 401).
    const refused = await me(gateway, oldToken);
    expect([401, 503]).toContain(refused.status);
    let last = refused;
    await waitFor(async () => (last = await me(gateway, oldToken)).status === 401, { timeoutMs: 10_000, intervalMs: 200, what: 'a plain 401 once the cooldown passed' });
    expect(last.body.error).toMatchObject({ code: 'AUTH_1002', details: { reason: 'unknown signing key' } });
    expect((await me(gateway, await issuer.tokenFor('alice.chen'))).status).toBe(200);
  });
});

describe('identity provider outage', () => {
  it('cached keys keep verifying new tokens (readiness degraded); an unknown kid meanwhile changes nothing; recovery is noticed', async () => {
    const issuer = await ownIssuer();
    const relay = await jwksRelay(issuer);
    const gateway = await gatewayFor(issuer, relay.url, { jwksRefreshIntervalMs: 1_000, jwksCooldownMs: 500 });
    expect((await me(gateway, await issuer.tokenFor('alice.chen'))).status).toBe(200);
    await relay.stop();
    await waitFor(async () => (await readiness(gateway)).status === 'degraded', { timeoutMs: 15_000, what: 'the outage to be noticed' });
    // Tokens the gateway has never seen, signed with a cached key, still verify.
    for (const user of ['bob.martinez', 'carol.nguyen']) expect((await me(gateway, await issuer.tokenFor(user))).status).toBe(200);

    const junk = await me(gateway, await forged('made-up-during-outage', issuer.issuerUrl));
    expect(junk.status).toBe(503);
    expect(['AUTH_1006', 'AUTH_1008']).toContain(junk.body.error.code);
    expect(junk.body.error.retryable).toBe(true);
    const after = await readiness(gateway);
    expect(after.status).toBe('degraded');
    expect(after.checks.issuer?.state).toBe('degraded');

    await relay.start();
    await waitFor(async () => (await readiness(gateway)).status === 'healthy', { timeoutMs: 15_000, what: 'the recovery to be noticed' });
    expect((await me(gateway, await issuer.tokenFor('dan.okafor'))).status).toBe(200);
  });

  it('beyond jwksMaxStaleMs cached keys stop counting: 503 AUTH_1006 and readiness unhealthy, until the provider answers', async () => {
    const issuer = await ownIssuer();
    const relay = await jwksRelay(issuer);
    const gateway = await gatewayFor(issuer, relay.url, { jwksRefreshIntervalMs: 1_000, jwksCooldownMs: 500, jwksMaxStaleMs: 3_000 });
    expect((await me(gateway, await issuer.tokenFor('alice.chen'))).status).toBe(200);
    await relay.stop();
    await waitFor(async () => (await readiness(gateway)).status === 'unhealthy', { timeoutMs: 20_000, what: 'the cached keys to expire' });
    const refused = await me(gateway, await issuer.tokenFor('bob.martinez'));
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatchObject({ code: 'AUTH_1006', retryable: true });
    expect(refused.headers.get('retry-after')).toBeTruthy();
    await relay.start();
    await waitFor(async () => (await readiness(gateway)).status === 'healthy', { timeoutMs: 15_000, what: 'the keys to be fetched again' });
    expect((await me(gateway, await issuer.tokenFor('bob.martinez'))).status).toBe(200);
  });

  it('starts while the provider is unreachable, reports it unhealthy, and recovers when it answers', async () => {
    const issuer = await ownIssuer();
    const relay = await jwksRelay(issuer);
    await relay.stop();
    const gateway = await gatewayFor(issuer, relay.url, { jwksRefreshIntervalMs: 1_000, jwksCooldownMs: 500 });
    expect((await api(`${gateway.url}/health/live`)).status).toBe(200);
    const down = await api(`${gateway.url}/health/ready`);
    expect(down.status).toBe(503);
    expect(down.body.status).toBe('unhealthy');
    expect(down.body.checks.issuer.state).toBe('down');
    const token = await issuer.tokenFor('alice.chen');
    const refused = await me(gateway, token);
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatchObject({ code: 'AUTH_1006', retryable: true });

    await relay.start();
    await waitFor(async () => (await api(`${gateway.url}/health/ready`)).status === 200, { timeoutMs: 15_000, what: 'the issuer to be reported up' });
    expect((await me(gateway, token)).status).toBe(200);
  });
});

describe('token kinds', () => {
  let gateway: RunningGateway;
  let strict: RunningGateway;

  beforeAll(async () => {
    gateway = await startGateway(testConfig(stack));
    strict = await startGateway(testConfig(stack, { auth: { requireRfc9068AccessTokens: true } }));
  });

  afterAll(async () => {
    await gateway?.close();
    await strict?.close();
  });

  const claims = { sub: 'user-1', aud: 'mcp-gateway', azp: 'mcp-gateway' };

  it.each([
    ['nonce', { nonce: 'n-1' }],
    ['at_hash', { at_hash: 'abc' }],
    ['c_hash', { c_hash: 'abc' }],
  ])('an ID token from a provider that marks no typ (%s present) is refused', async (_label, marker) => {
    const token = await stack.issuer.sign({ ...claims, ...marker });
    const response = await me(gateway, token);
    expect(response.status).toBe(401);
    expect(response.body.error).toMatchObject({ code: 'AUTH_1002', details: { reason: expect.stringMatching(/ID token/) } });
  });

  it('the same claims without ID-token markers pass; a Keycloak access token with a nonce (payload typ Bearer) passes', async () => {
    expect((await me(gateway, await stack.issuer.sign(claims))).status).toBe(200);
    expect((await me(gateway, await stack.issuer.tokenFor('alice.chen', { claims: { nonce: 'kc-legacy' } }))).status).toBe(200);
  });

  it('with requireRfc9068AccessTokens, only typ at+jwt passes', async () => {
    const plain = await stack.issuer.tokenFor('alice.chen');
    const refused = await me(strict, plain);
    expect(refused.status).toBe(401);
    expect(refused.body.error.details.reason).toMatch(/RFC 9068/);
    expect((await me(strict, await stack.issuer.tokenFor('alice.chen', { header: { typ: 'at+jwt' } }))).status).toBe(200);
    expect((await me(strict, await stack.issuer.tokenFor('alice.chen', { header: { typ: 'application/at+jwt' } }))).status).toBe(200);
  });
});
