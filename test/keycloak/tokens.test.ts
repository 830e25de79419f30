/**
 * Tokens as stock Keycloak issues them: password and client-credentials grants reach /api/me with
 * realm roles ∪ mcp-gateway client roles (other clients' roles never count); ID tokens, refresh
 * tokens, other clients' tokens, expired and tampered tokens are refused; split-horizon issuers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USERS } from '../../src/dev/demo-users.js';
import { api, startGateway, startTestStack, waitFor, type RunningGateway, type TestStack } from '../helpers/stack.js';
import {
  admin,
  adminToken,
  clientCredentialsGrant,
  claimsOf,
  clientUuid,
  keycloakGatewayConfig,
  localhostUrl,
  passwordGrant,
  REALM,
  realmUrl,
} from './keycloak.js';

let stack: TestStack;
let gw: RunningGateway;

/** Clients this file adds to the realm, removed afterwards. */
const OTHER_APP = { id: 'other-app', secret: 'other-app-secret' };
const SHORT_LIVED = { id: 'short-lived', secret: 'short-lived-secret' };
const created: string[] = [];

async function createClient(representation: Record<string, unknown>): Promise<string> {
  const { location } = await admin('POST', `/${REALM}/clients`, representation);
  const id = location?.split('/').pop();
  if (id === undefined) throw new Error('Keycloak did not say where the client is');
  created.push(id);
  return id;
}

beforeAll(async () => {
  stack = await startTestStack();
  // No clock tolerance, so a token that just expired is refused at once.
  gw = await startGateway(keycloakGatewayConfig(stack, { auth: { clockToleranceSec: 0 } }));
  // An application of the same realm that has nothing to do with the gateway (no audience mapper).
  await createClient({ clientId: OTHER_APP.id, secret: OTHER_APP.secret, publicClient: false, directAccessGrantsEnabled: true, standardFlowEnabled: false });
  // Tokens that live one second, for the gateway (audience mapper as in the shipped clients).
  await createClient({
    clientId: SHORT_LIVED.id,
    secret: SHORT_LIVED.secret,
    publicClient: false,
    directAccessGrantsEnabled: true,
    standardFlowEnabled: false,
    attributes: { 'access.token.lifespan': '1' },
    protocolMappers: [
      { name: 'audience', protocol: 'openid-connect', protocolMapper: 'oidc-audience-mapper', config: { 'included.client.audience': 'mcp-gateway', 'access.token.claim': 'true' } },
    ],
  });
});

afterAll(async () => {
  await gw?.close();
  await stack?.close();
  for (const id of created) await admin('DELETE', `/${REALM}/clients/${id}`).catch(() => undefined);
});

const me = (token: string, gateway = gw) => api(`${gateway.url}/api/me`, { token });

function expectRefused(response: Awaited<ReturnType<typeof me>>, reason?: RegExp): void {
  expect(response.status).toBe(401);
  expect(response.body.error.code).toBe('AUTH_1002');
  if (reason !== undefined) expect(response.body.error.details.reason).toMatch(reason);
}

describe('tokens Keycloak issues are accepted, with the roles that count', () => {
  it.each(DEMO_USERS.map((user) => [user.username, user] as const))('%s (password grant): realm roles ∪ mcp-gateway client roles', async (username, user) => {
    const { access_token: token } = await passwordGrant(username);
    const response = await me(token);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ sub: user.sub, username, email: user.email });
    // Keycloak's default realm roles come along; the demo's roles all count.
    const expected = [...user.realmRoles, ...user.clientRoles, `default-roles-${REALM}`, 'offline_access', 'uma_authorization'].sort();
    expect([...response.body.roles].sort()).toEqual(expected);
    // The account client's roles, which Keycloak puts in every token, do not.
    expect(claimsOf(token).resource_access).toHaveProperty('account');
    expect(response.body.roles).not.toContain('manage-account');
  });

  it("another client's roles never count, even under a name the policy knows", async () => {
    const consoleClient = await clientUuid('mcp-console');
    await admin('POST', `/${REALM}/clients/${consoleClient}/roles`, { name: 'executive' });
    const role = (await admin<{ id: string; name: string }>('GET', `/${REALM}/clients/${consoleClient}/roles/executive`)).body;
    const frank = DEMO_USERS.find((user) => user.username === 'frank.lee')!;
    await admin('POST', `/${REALM}/users/${frank.sub}/role-mappings/clients/${consoleClient}`, [role]);
    try {
      const { access_token: token } = await passwordGrant('frank.lee');
      expect(claimsOf(token).resource_access).toMatchObject({ 'mcp-console': { roles: ['executive'] } });
      const response = await me(token);
      expect(response.status).toBe(200);
      expect(response.body.roles).not.toContain('executive');
      expect((response.body.servers as Array<{ name: string }>).map((server) => server.name)).not.toContain('finance');
    } finally {
      await admin('DELETE', `/${REALM}/clients/${consoleClient}/roles/executive`);
    }
  });

  it("a client-credentials token (the automation client's service account) carries that account's roles", async () => {
    const { access_token: token } = await clientCredentialsGrant();
    expect(claimsOf(token)).toMatchObject({ azp: 'mcp-automation', preferred_username: 'service-account-mcp-automation' });
    const response = await me(token);
    expect(response.status).toBe(200);
    expect(response.body.roles).toContain('support-read');
    expect(response.body.username).toBe('service-account-mcp-automation');
  });
});

describe('what is not an access token for the gateway is refused', () => {
  it('an ID token', async () => {
    const { id_token: idToken } = await passwordGrant('alice.chen');
    expect(claimsOf(idToken!).typ).toBe('ID');
    expectRefused(await me(idToken!));
  });

  it('a refresh token', async () => {
    const { refresh_token: refreshToken } = await passwordGrant('alice.chen');
    expectRefused(await me(refreshToken!));
  });

  it("another application's access token from the same realm", async () => {
    const { access_token: token } = await passwordGrant('frank.lee', { client: OTHER_APP });
    expect(claimsOf(token)).toMatchObject({ azp: OTHER_APP.id, aud: 'account' });
    expectRefused(await me(token), /audience/);
  });

  it("Keycloak names the gateway in any client's token that carries mcp-gateway client roles, unless that client's full scope is off", async () => {
    // alice holds an mcp-gateway client role; with "Full scope allowed" (the default) any client's token
    // for her carries it, and Keycloak then adds mcp-gateway to `aud` (docs/keycloak.md says what to do).
    const fullScope = await passwordGrant('alice.chen', { client: OTHER_APP });
    expect(claimsOf(fullScope.access_token).aud).toContain('mcp-gateway');
    const otherApp = await clientUuid(OTHER_APP.id);
    const { body: representation } = await admin<Record<string, unknown>>('GET', `/${REALM}/clients/${otherApp}`);
    await admin('PUT', `/${REALM}/clients/${otherApp}`, { ...representation, fullScopeAllowed: false });
    const scoped = await passwordGrant('alice.chen', { client: OTHER_APP });
    expect(claimsOf(scoped.access_token).aud ?? []).not.toContain('mcp-gateway');
    expectRefused(await me(scoped.access_token), /audience/);
  });

  it('a token of another realm (the master realm)', async () => {
    expectRefused(await me(await adminToken()));
  });

  it('an expired token', async () => {
    const { access_token: token, expires_in: expiresIn } = await passwordGrant('alice.chen', { client: SHORT_LIVED });
    expect(expiresIn).toBe(1);
    const exp = claimsOf(token).exp as number;
    await waitFor(() => Date.now() / 1000 > exp + 1, { timeoutMs: 5_000, what: 'the token to expire' });
    expectRefused(await me(token), /expired/);
  });

  it('a tampered token (a role added to a genuine one)', async () => {
    const { access_token: token } = await passwordGrant('frank.lee');
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as { realm_access: { roles: string[] } };
    claims.realm_access.roles.push('executive');
    const tampered = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
    expectRefused(await me(tampered), /signature/);
    expect((await me(token)).status).toBe(200);
  });
});

describe('split-horizon issuers: one realm reached as localhost and as 127.0.0.1', () => {
  let splitGw: RunningGateway;

  beforeAll(async () => {
    const internal = realmUrl();
    const external = realmUrl(REALM, localhostUrl());
    splitGw = await startGateway(
      keycloakGatewayConfig(stack, { auth: { issuers: [external, internal], publicIssuers: [external], jwksUri: `${internal}/protocol/openid-connect/certs` } }),
    );
  });

  afterAll(async () => {
    await splitGw?.close();
  });

  it('tokens issued under either name are accepted; only the public name is published', async () => {
    const viaLocalhost = await passwordGrant('dan.okafor', { base: localhostUrl() });
    const viaLoopback = await passwordGrant('dan.okafor');
    expect(claimsOf(viaLocalhost.access_token).iss).toBe(realmUrl(REALM, localhostUrl()));
    expect(claimsOf(viaLoopback.access_token).iss).toBe(realmUrl());
    expect((await me(viaLocalhost.access_token, splitGw)).status).toBe(200);
    expect((await me(viaLoopback.access_token, splitGw)).status).toBe(200);
    // The gateway configured with one name refuses the other.
    expectRefused(await me(viaLocalhost.access_token), /iss/);

    const metadata = await api(`${splitGw.url}/.well-known/oauth-protected-resource/mcp`);
    expect(metadata.body.authorization_servers).toEqual([realmUrl(REALM, localhostUrl())]);
  });
});
