/**
 * An upstream MCP server protected by Keycloak itself, reached with Keycloak's standard token exchange
 * (RFC 8693, `servers.<name>.auth.type: token-exchange`): the gateway exchanges the caller's token
 * for one whose audience is the upstream's client, so the upstream sees the user without ever getting
 * the user's own token. The realm ships what this needs: `standard.token.exchange.enabled` on
 * mcp-gateway and the upstream's audience available to it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USERS } from '../../src/dev/demo-users.js';
import { api, startGateway, startTestStack, type RunningGateway, type TestStack } from '../helpers/stack.js';
import { claimsOf, GATEWAY_CLIENT, keycloakGatewayConfig, passwordGrant, realmUrl } from './keycloak.js';
import { authorizationCodeTokens } from './login.js';
import { startKeycloakProtectedServer, type KeycloakProtectedServer } from './upstream-server.js';

let stack: TestStack;
let upstream: KeycloakProtectedServer;
let gw: RunningGateway;

beforeAll(async () => {
  stack = await startTestStack();
  upstream = await startKeycloakProtectedServer({ issuer: realmUrl(), audience: 'upstream-mcp' });
  gw = await startGateway(
    keycloakGatewayConfig(stack, {
      servers: {
        reports: {
          url: upstream.url,
          roles: ['employee', 'executive'],
          auth: { type: 'token-exchange', audience: 'upstream-mcp', clientSecret: GATEWAY_CLIENT.secret },
        },
        // An audience the realm does not make available to the gateway: Keycloak refuses the exchange.
        refused: {
          url: upstream.url,
          roles: ['employee'],
          auth: { type: 'token-exchange', audience: 'mcp-console', clientSecret: GATEWAY_CLIENT.secret },
        },
      },
    }),
  );
});

afterAll(async () => {
  await gw?.close();
  await upstream?.close();
  await stack?.close();
});

const alice = DEMO_USERS.find((user) => user.username === 'alice.chen')!;
const whoami = (token: string, server = 'reports') => api(`${gw.url}/api/tools/${server}/whoami`, { token, body: { arguments: {} } });

describe('token exchange to an upstream protected by Keycloak', () => {
  it("the upstream sees the caller, through a token exchanged for its own audience, never the caller's token", async () => {
    const { access_token: token } = await passwordGrant('alice.chen');
    const response = await whoami(token);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(response.body.result.structuredContent).toEqual({ sub: alice.sub, username: 'alice.chen', azp: 'mcp-gateway', aud: 'upstream-mcp' });
    const jtiOfCaller = claimsOf(token).jti;
    // Everything the upstream received for alice was an exchanged token (the rest is the gateway's own
    // service account listing tools).
    const forAlice = upstream.accepted.filter((claims) => claims.sub === alice.sub);
    expect(forAlice.length).toBeGreaterThan(0);
    expect(forAlice.every((claims) => claims.aud === 'upstream-mcp' && claims.jti !== jtiOfCaller)).toBe(true);
  });

  it('works for a token an MCP client obtained (another client of the realm, the gateway in its audience)', async () => {
    const desktop = await authorizationCodeTokens({ realmUrl: realmUrl(), clientId: 'mcp-desktop', redirectUri: 'http://127.0.0.1:33420/callback', username: 'alice.chen' });
    expect(claimsOf(desktop.access_token).azp).toBe('mcp-desktop');
    const response = await whoami(desktop.access_token);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(response.body.result.structuredContent).toMatchObject({ sub: alice.sub, azp: 'mcp-gateway', aud: 'upstream-mcp' });
  });

  it('an exchange Keycloak refuses is a 403 MCP_2007, not a call with some other credential', async () => {
    const calls = upstream.accepted.length;
    const { access_token: token } = await passwordGrant('frank.lee');
    const response = await whoami(token, 'refused');
    expect(response.status).toBe(403);
    expect(response.body.error.code).toBe('MCP_2007');
    expect(upstream.accepted.length).toBe(calls);
  });
});
