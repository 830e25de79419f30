/**
 * The issuer's keys as the gateway fetches them: an unknown `kid` triggers at most one refetch per
 * cooldown (a flood of forged kids cannot hammer the identity provider), and a gateway started while
 * the issuer is unreachable runs anyway, reports the issuer down, and recovers once it answers.
 * A counting relay in front of the dev issuer's JWKS endpoint observes every fetch.
 */
import { createServer, type Server } from 'node:http';
import { SignJWT, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { api, startGateway, startTestStack, testConfig, waitFor, type TestStack } from '../helpers/stack.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});

afterAll(async () => {
  await stack?.close();
});

/** Relays GETs to the issuer's JWKS and counts them. */
async function jwksRelay(port: number): Promise<{ url: string; fetches: () => number; close: () => Promise<void> }> {
  let fetches = 0;
  const server: Server = createServer((request, response) => {
    fetches += 1;
    void fetch(stack.issuer.jwksUri).then(async (upstream) => {
      response.writeHead(upstream.status, { 'content-type': 'application/json' }).end(await upstream.text());
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}/jwks`,
    fetches: () => fetches,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('issuer keys', () => {
  it('refetches the JWKS at most once per cooldown, however many unknown kids arrive', async () => {
    const relay = await jwksRelay(await freePort());
    const gateway = await startGateway(testConfig(stack, { auth: { jwksUri: relay.url, jwksCooldownMs: 60_000 } }));
    try {
      const valid = await stack.issuer.tokenFor('alice.chen');
      expect((await api(`${gateway.url}/api/me`, { token: valid })).status).toBe(200);
      const baseline = relay.fetches();
      const { privateKey } = await generateKeyPair('RS256');
      const forged = await Promise.all(
        Array.from({ length: 25 }, (_, index) =>
          new SignJWT({ sub: 'mallory', azp: 'mcp-gateway' })
            .setProtectedHeader({ alg: 'RS256', kid: `forged-${index}` })
            .setIssuer(stack.issuer.issuerUrl)
            .setExpirationTime('5m')
            .sign(privateKey),
        ),
      );
      for (const token of forged) {
        const response = await api(`${gateway.url}/api/me`, { token });
        expect(response.status).toBe(401);
        expect(response.body.error.code).toBe('AUTH_1002');
      }
      expect(relay.fetches() - baseline).toBeLessThanOrEqual(1);
      // Valid tokens keep working from the cached keys.
      expect((await api(`${gateway.url}/api/me`, { token: valid })).status).toBe(200);
    } finally {
      await gateway.close();
      await relay.close();
    }
  });

  it('starts while the issuer is unreachable, reports it down, and recovers when it answers', async () => {
    const port = await freePort();
    const gateway = await startGateway(testConfig(stack, { auth: { jwksUri: `http://127.0.0.1:${port}/jwks` } }));
    let relay: Awaited<ReturnType<typeof jwksRelay>> | undefined;
    try {
      expect((await api(`${gateway.url}/health/live`)).status).toBe(200);
      const down = await api(`${gateway.url}/health/ready`);
      expect(down.status).toBe(503);
      expect(down.body.checks.issuer.ok).toBe(false);
      const token = await stack.issuer.tokenFor('alice.chen');
      const refused = await api(`${gateway.url}/api/me`, { token });
      expect(refused.status).toBe(503);
      expect(refused.body.error).toMatchObject({ code: 'AUTH_1006', retryable: true });

      relay = await jwksRelay(port);
      await waitFor(async () => (await api(`${gateway.url}/health/ready`)).status === 200, { timeoutMs: 15_000, what: 'the issuer to be reported up' });
      expect((await api(`${gateway.url}/api/me`, { token })).status).toBe(200);
    } finally {
      await gateway.close();
      await relay?.close();
    }
  });
});
