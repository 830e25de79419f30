/**
 * A Keycloak logout reaches the gateway: ending one session through the admin API makes Keycloak post
 * a back-channel logout token to the gateway; that session's still-valid access token is refused by
 * both replicas sharing Redis within 1 s, and the same user's other session keeps working. The session
 * ended belongs to the MCP client (a trusted client, not the gateway's own).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, redisStore, startGateway, startTestStack, waitFor, type RunningGateway, type TestStack } from '../helpers/stack.js';
import { admin, adminToken, claimsOf, clientUuid, keycloakGatewayConfig, passwordGrant, REALM, realmUrl } from './keycloak.js';
import { authorizationCodeTokens } from './login.js';

let stack: TestStack;
let a: RunningGateway;
let b: RunningGateway;
/** The back-channel logout URLs the realm ships, put back afterwards. */
const originalUrls = new Map<string, Record<string, unknown>>();

async function pointBackchannelLogoutAt(clientId: string, url: string): Promise<void> {
  const id = await clientUuid(clientId);
  const { body } = await admin<Record<string, unknown> & { attributes: Record<string, string> }>('GET', `/${REALM}/clients/${id}`);
  originalUrls.set(id, body);
  await admin('PUT', `/${REALM}/clients/${id}`, { ...body, attributes: { ...body.attributes, 'backchannel.logout.url': url } });
}

beforeAll(async () => {
  stack = await startTestStack();
  const config = keycloakGatewayConfig(stack, { store: redisStore('keycloak-logout') });
  a = await startGateway(config);
  b = await startGateway(config);
  for (const clientId of ['mcp-desktop', 'mcp-gateway']) await pointBackchannelLogoutAt(clientId, `${a.url}/backchannel-logout`);
});

afterAll(async () => {
  for (const [id, representation] of originalUrls) await admin('PUT', `/${REALM}/clients/${id}`, representation).catch(() => undefined);
  await Promise.all([a?.close(), b?.close()]);
  await stack?.close();
});

const me = (gateway: RunningGateway, token: string) => api(`${gateway.url}/api/me`, { token });

describe('back-channel logout from Keycloak', () => {
  it("ends that session on both replicas within 1 s; the user's other session is unaffected", async () => {
    const desktop = await authorizationCodeTokens({ realmUrl: realmUrl(), clientId: 'mcp-desktop', redirectUri: 'http://127.0.0.1:33418/callback', username: 'alice.chen' });
    const script = await passwordGrant('alice.chen');
    const sid = claimsOf(desktop.access_token).sid as string;
    expect(claimsOf(desktop.access_token)).toMatchObject({ azp: 'mcp-desktop', aud: expect.arrayContaining(['mcp-gateway']) });
    expect(claimsOf(script.access_token).sid).not.toBe(sid);
    for (const gateway of [a, b]) {
      expect((await me(gateway, desktop.access_token)).status).toBe(200);
      expect((await me(gateway, script.access_token)).status).toBe(200);
    }

    const adminAccess = await adminToken();
    const started = Date.now();
    await admin('DELETE', `/${REALM}/sessions/${sid}`, undefined, adminAccess);
    const loggedOut = Date.now();
    await waitFor(async () => (await me(a, desktop.access_token)).status === 401 && (await me(b, desktop.access_token)).status === 401, {
      timeoutMs: 1_000,
      intervalMs: 10,
      what: 'both replicas to refuse the logged-out session',
    });
    const refusedAt = Date.now();
    process.stdout.write(
      `[keycloak] logout: admin request ${loggedOut - started} ms; both replicas refused the session ${refusedAt - loggedOut} ms after it returned (${refusedAt - started} ms in all)\n`,
    );

    for (const gateway of [a, b]) {
      const refused = await me(gateway, desktop.access_token);
      expect(refused.body.error.code).toBe('AUTH_1003');
      expect((await me(gateway, script.access_token)).status).toBe(200);
    }
    // The access token itself is still within its lifetime: only the logout refused it.
    expect(claimsOf(desktop.access_token).exp as number).toBeGreaterThan(Date.now() / 1000);
  });
});
