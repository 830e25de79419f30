/**
 * RFC 9728 protected resource metadata as clients meet it: the API and the MCP endpoint are two
 * resources with their own documents, each 401 points at the document of the resource asked for, only
 * public issuers are published, and the scopes to request are named. Back-channel logout accepts the
 * logout tokens of the clients people sign in with when they are configured as trusted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startGateway, startTestStack, testConfig, type RunningGateway, type TestStack } from '../helpers/stack.js';

const INTERNAL_ISSUER = 'http://keycloak.internal:8080/realms/acme';

let stack: TestStack;
let gw: RunningGateway;
/** Two issuers for split-horizon DNS; only the first (public) one may be shown to clients. */
let splitHorizon: RunningGateway;

beforeAll(async () => {
  stack = await startTestStack();
  gw = await startGateway(testConfig(stack, { auth: { backchannelLogout: { trustedClients: ['mcp-desktop'] } } }));
  splitHorizon = await startGateway(testConfig(stack, { auth: { issuers: [stack.issuer.issuerUrl, INTERNAL_ISSUER] } }));
});

afterAll(async () => {
  await Promise.all([gw?.close(), splitHorizon?.close()]);
  await stack?.close();
});

function challengeParams(header: string | null): Record<string, string> {
  expect(header).toMatch(/^Bearer /);
  return Object.fromEntries([...(header ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((match): [string, string] => [match[1] ?? '', match[2] ?? '']));
}

describe('protected resource metadata (RFC 9728)', () => {
  it('a 401 from /mcp points at the metadata of the /mcp resource, and names the scopes to request', async () => {
    const response = await api(`${gw.url}/mcp`, { body: { jsonrpc: '2.0', id: 1, method: 'tools/list' } });
    expect(response.status).toBe(401);
    const params = challengeParams(response.headers.get('www-authenticate'));
    expect(params.resource_metadata).toBe(`${gw.url}/.well-known/oauth-protected-resource/mcp`);
    expect(params.scope).toBe('openid profile email');

    const metadata = await api(params.resource_metadata ?? '');
    expect(metadata.status).toBe(200);
    expect(metadata.body).toEqual({
      resource: `${gw.url}/mcp`,
      authorization_servers: [stack.issuer.issuerUrl],
      scopes_supported: ['openid', 'profile', 'email'],
      bearer_methods_supported: ['header'],
      resource_name: 'MCP Gateway (MCP endpoint)',
    });
  });

  it('a 401 from the API points at the root document, whose resource is the base URL', async () => {
    const response = await api(`${gw.url}/api/me`, { token: 'not-a-jwt' });
    expect(response.status).toBe(401);
    const params = challengeParams(response.headers.get('www-authenticate'));
    expect(params.resource_metadata).toBe(`${gw.url}/.well-known/oauth-protected-resource`);
    expect(params.error).toBe('invalid_token');
    const metadata = await api(params.resource_metadata ?? '');
    expect(metadata.body).toMatchObject({ resource: gw.url, authorization_servers: [stack.issuer.issuerUrl] });
  });

  it('only the public issuer is published when several are accepted', async () => {
    for (const path of ['', '/mcp']) {
      const metadata = await api(`${splitHorizon.url}/.well-known/oauth-protected-resource${path}`);
      expect(metadata.body.authorization_servers).toEqual([stack.issuer.issuerUrl]);
    }
  });

  it('publicIssuers and scopes come from config', async () => {
    const configured = await startGateway(
      testConfig(stack, { auth: { issuers: [INTERNAL_ISSUER, stack.issuer.issuerUrl], publicIssuers: [stack.issuer.issuerUrl], scopes: ['openid', 'mcp:tools'] } }),
    );
    try {
      const metadata = await api(`${configured.url}/.well-known/oauth-protected-resource/mcp`);
      expect(metadata.body).toMatchObject({ authorization_servers: [stack.issuer.issuerUrl], scopes_supported: ['openid', 'mcp:tools'] });
      const response = await api(`${configured.url}/mcp`, { body: { jsonrpc: '2.0', id: 1, method: 'tools/list' } });
      expect(challengeParams(response.headers.get('www-authenticate')).scope).toBe('openid mcp:tools');
    } finally {
      await configured.close();
    }
  });
});

describe('back-channel logout for the clients people sign in with', () => {
  const logout = async (gateway: RunningGateway, logoutToken: string) =>
    api(`${gateway.url}/backchannel-logout`, {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: logoutToken }).toString(),
    });

  it("a trusted client's logout token ends that session here", async () => {
    const sid = `desktop-session-${Date.now()}`;
    const token = await stack.issuer.tokenFor('frank.lee', { sid, claims: { azp: 'mcp-desktop' } });
    expect((await api(`${gw.url}/api/me`, { token })).status).toBe(200);

    const response = await logout(gw, await stack.issuer.logoutToken({ sid, aud: 'mcp-desktop' }));
    expect(response.status).toBe(200);
    const refused = await api(`${gw.url}/api/me`, { token });
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('AUTH_1003');
  });

  it('a logout token for a client that is not trusted is refused with AUTH_1007 and revokes nothing', async () => {
    const sid = `console-session-${Date.now()}`;
    const token = await stack.issuer.tokenFor('frank.lee', { sid });
    const response = await logout(gw, await stack.issuer.logoutToken({ sid, aud: 'some-other-app' }));
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('AUTH_1007');
    expect((await api(`${gw.url}/api/me`, { token })).status).toBe(200);
  });

  it('without trustedClients, only logout tokens for the gateway itself count', async () => {
    const sid = `desktop-session-untrusted-${Date.now()}`;
    const response = await logout(splitHorizon, await stack.issuer.logoutToken({ sid, aud: 'mcp-desktop' }));
    expect(response.status).toBe(400);
    expect((await logout(splitHorizon, await stack.issuer.logoutToken({ sid }))).status).toBe(200);
  });
});
