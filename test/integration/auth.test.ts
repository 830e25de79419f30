/**
 * Bad tokens of every kind are refused with a catalogued 401/403 (never a 500), valid ones pass,
 * and the identity's roles are the realm roles plus the gateway client's own roles only.
 */
import { SignJWT, decodeJwt, decodeProtectedHeader, exportSPKI, generateKeyPair, importJWK, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDemoUser } from '../../src/dev/demo-users.js';
import { api, startGateway, startTestStack, testConfig, waitFor, type RunningGateway, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
let gw: RunningGateway;

beforeAll(async () => {
  stack = await startTestStack();
  gw = await startGateway(testConfig(stack));
});

afterAll(async () => {
  await gw?.close();
  await stack?.close();
});

type ApiResult = Awaited<ReturnType<typeof api>>;

/** Asserts the one error shape, with the request id of the response header. */
function expectError(response: ApiResult, status: number, code: string, retryable = false): void {
  expect(response.status).toBe(status);
  const requestId = response.headers.get('x-request-id');
  expect(requestId).toBeTruthy();
  expect(response.body).toMatchObject({ error: { code, message: expect.any(String), requestId, retryable } });
  expect(Object.keys(response.body.error as object).sort()).toEqual(
    expect.arrayContaining(['code', 'message', 'requestId', 'retryable']),
  );
}

const me = (headers: Record<string, string> = {}): Promise<ApiResult> => api(`${gw.url}/api/me`, { headers });
const meWith = (token: string): Promise<ApiResult> => api(`${gw.url}/api/me`, { token });

const base64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const nowSec = (): number => Math.floor(Date.now() / 1000);

describe('requests without a usable bearer token', () => {
  it('a missing Authorization header is AUTH_1001', async () => {
    expectError(await me(), 401, 'AUTH_1001');
  });

  it.each([
    ['Bearer with nothing', 'Bearer'],
    ['Bearer and spaces', 'Bearer    '],
    ['another scheme', 'Basic YWxpY2U6c2VjcmV0'],
    ['garbage', 'Bearer not-a-jwt'],
    ['three garbage segments', 'Bearer aaa.bbb.ccc'],
    ['a header that is not JSON', `Bearer ${Buffer.from('{oops').toString('base64url')}.${base64url({ sub: 'x' })}.c2ln`],
    ['two tokens', 'Bearer a.b.c d.e.f'],
  ])('%s is AUTH_1002', async (_label, authorization) => {
    expectError(await me({ authorization }), 401, 'AUTH_1002');
  });
});

describe('forged and unacceptable tokens are AUTH_1002', () => {
  it('a token signed by another key (a kid the issuer does not have)', async () => {
    const claims = decodeJwt(await stack.issuer.tokenFor('alice.chen'));
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: 'attacker-key' }).sign(privateKey);
    // Within the refetch cooldown an unknown kid may be a rotation in progress: a retryable 503; once a
    // fetch shows the issuer has no such key, a plain 401.
    let response = await meWith(forged);
    await waitFor(
      async () => {
        if (response.status === 401) return true;
        expectError(response, 503, 'AUTH_1008', true);
        response = await meWith(forged);
        return false;
      },
      { timeoutMs: 15_000, intervalMs: 500, what: 'the unknown kid to be refused as invalid' },
    );
    expectError(response, 401, 'AUTH_1002');
    expect(response.body.error.details).toEqual({ reason: 'unknown signing key' });
  });

  it("a token signed by another key under the issuer's own kid", async () => {
    const genuine = await stack.issuer.tokenFor('alice.chen');
    const { kid } = decodeProtectedHeader(genuine);
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT(decodeJwt(genuine)).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid }).sign(privateKey);
    expectError(await meWith(forged), 401, 'AUTH_1002');
  });

  it('an unsecured token (alg: none)', async () => {
    const claims = decodeJwt(await stack.issuer.tokenFor('eve.thompson'));
    const unsecured = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims)}.`;
    expectError(await meWith(unsecured), 401, 'AUTH_1002');
  });

  it("an HS256 token using the issuer's public key as the HMAC secret", async () => {
    const genuine = await stack.issuer.tokenFor('eve.thompson');
    const jwks = (await (await fetch(stack.issuer.jwksUri)).json()) as { keys: JWK[] };
    const jwk = jwks.keys[0];
    if (jwk === undefined) throw new Error('the issuer publishes no key');
    const publicKey = await importJWK({ ...jwk, alg: 'RS256' }, 'RS256', { extractable: true });
    if (publicKey instanceof Uint8Array) throw new Error('expected an RSA public key');
    const pem = await exportSPKI(publicKey);
    const forged = await new SignJWT(decodeJwt(genuine))
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: jwk.kid })
      .sign(new TextEncoder().encode(pem));
    expectError(await meWith(forged), 401, 'AUTH_1002');
  });

  it('a tampered payload (a role added after signing)', async () => {
    const genuine = await stack.issuer.tokenFor('frank.lee');
    const [header, payload, signature] = genuine.split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as { realm_access: { roles: string[] } };
    claims.realm_access.roles.push('executive');
    expectError(await meWith(`${header}.${base64url(claims)}.${signature}`), 401, 'AUTH_1002');
    // The untouched token is fine: only the tampering is refused.
    expect((await meWith(genuine)).status).toBe(200);
  });

  it('an expired token (beyond the 30 s clock tolerance)', async () => {
    expectError(await meWith(await stack.issuer.tokenFor('alice.chen', { expiresInSec: -120 })), 401, 'AUTH_1002');
  });

  it('a token not valid yet', async () => {
    expectError(await meWith(await stack.issuer.tokenFor('alice.chen', { claims: { nbf: nowSec() + 600 } })), 401, 'AUTH_1002');
  });

  it('a token from another issuer', async () => {
    expectError(await meWith(await stack.issuer.tokenFor('alice.chen', { claims: { iss: 'https://evil.example' } })), 401, 'AUTH_1002');
  });

  it('a token for another client (neither aud nor azp names the gateway)', async () => {
    const token = await stack.issuer.tokenFor('alice.chen', { claims: { aud: ['another-client', 'account'], azp: 'another-client' } });
    expectError(await meWith(token), 401, 'AUTH_1002');
  });

  it('an ID token', async () => {
    expectError(await meWith(await stack.issuer.tokenFor('alice.chen', { claims: { typ: 'ID' } })), 401, 'AUTH_1002');
  });

  it('a token whose header says it is not an access token (a logout token)', async () => {
    expectError(await meWith(await stack.issuer.logoutToken({ sid: 'some-session' })), 401, 'AUTH_1002');
  });

  it('a token whose aud is neither a string nor an array', async () => {
    expectError(await meWith(await stack.issuer.tokenFor('alice.chen', { claims: { aud: 42, azp: 42 } })), 401, 'AUTH_1002');
  });

  it('a token whose header typ is not a string', async () => {
    expectError(await meWith(await stack.issuer.tokenFor('alice.chen', { header: { typ: 5 } })), 401, 'AUTH_1002');
  });

  it('a token without sub', async () => {
    const token = await stack.issuer.sign({ typ: 'Bearer', aud: 'mcp-gateway', azp: 'mcp-gateway', preferred_username: 'nobody' });
    expectError(await meWith(token), 401, 'AUTH_1002');
  });

  it('a token with an empty sub', async () => {
    expectError(await meWith(await stack.issuer.tokenFor('alice.chen', { claims: { sub: '' } })), 401, 'AUTH_1002');
  });
});

describe('valid tokens', () => {
  it('a token that expired 10 s ago is still accepted (clock tolerance)', async () => {
    const response = await meWith(await stack.issuer.tokenFor('frank.lee', { expiresInSec: -10 }));
    expect(response.status).toBe(200);
    expect(response.body.username).toBe('frank.lee');
  });

  it('a token whose aud omits the gateway but whose azp names it is accepted', async () => {
    const response = await meWith(await stack.issuer.tokenFor('frank.lee', { claims: { aud: 'account' } }));
    expect(response.status).toBe(200);
  });

  it("roles are realm roles ∪ the gateway client's roles; other clients' roles do not count", async () => {
    const response = await meWith(await stack.issuer.tokenFor('alice.chen'));
    expect(response.status).toBe(200);
    const alice = findDemoUser('alice.chen');
    expect(response.body).toMatchObject({ sub: alice?.sub, username: 'alice.chen', email: 'alice.chen@example.com' });
    const roles = response.body.roles as string[];
    expect(roles).toContain('hr-write'); // a client-only role
    expect(roles).toEqual(expect.arrayContaining(['hr-read', 'employee']));
    expect(roles).not.toContain('manage-account'); // the `account` client's roles
    expect(roles).not.toContain('view-profile');
    const servers = response.body.servers as Array<{ name: string }>;
    expect(servers.map((server) => server.name).sort()).toEqual(['hr', 'support']);
  });

  it('a user without the admin role gets 403 AUTH_1004 on the admin API', async () => {
    const response = await api(`${gw.url}/api/admin/revocations`, { token: await stack.issuer.tokenFor('frank.lee'), body: { jti: 'some-jti' } });
    expectError(response, 403, 'AUTH_1004');
  });

  it('the gateway still answers after all of the above', async () => {
    expect((await api(`${gw.url}/health/live`)).status).toBe(200);
  });
});
