/**
 * An MCP client signing in through Keycloak with the official SDK (v2), as Claude Desktop or an IDE
 * agent would: its first request gets 401 → it reads the gateway's RFC 9728 metadata for /mcp →
 * Keycloak's discovery document → authorization code + PKCE at Keycloak's login page (posted here
 * without a browser) with the realm's `mcp-desktop` client → lists and calls tools through /mcp.
 * A client without a person uses client credentials (the realm's `mcp-automation` client).
 */
import {
  Client,
  ClientCredentialsProvider,
  StreamableHTTPClientTransport,
  UnauthorizedError,
  type OAuthClientMetadata,
  type OAuthClientProvider,
  type OAuthDiscoveryState,
  type StoredOAuthClientInformation,
  type StoredOAuthTokens,
} from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, startTestStack, type RunningGateway, type TestStack } from '../helpers/stack.js';
import { AUTOMATION_CLIENT, claimsOf, keycloakGatewayConfig, realmUrl } from './keycloak.js';
import { signInOnLoginPage } from './login.js';

/** A loopback redirect, as native MCP clients use (Keycloak ignores the port for loopback addresses). */
const REDIRECT_URI = 'http://127.0.0.1:33419/oauth/callback';

/** An MCP client's OAuth state, kept in memory; "opening the browser" records the URL for the test to follow. */
class HeadlessClientProvider implements OAuthClientProvider {
  authorizationUrl: URL | undefined;
  private storedTokens: StoredOAuthTokens | undefined;
  private verifier = '';
  private readonly expectedState = crypto.randomUUID();

  get redirectUrl(): string {
    return REDIRECT_URI;
  }
  get clientMetadata(): OAuthClientMetadata {
    return { client_name: 'Test MCP client', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' };
  }
  /** Pre-registered: the realm's public client for MCP clients (no dynamic registration needed). */
  clientInformation(): StoredOAuthClientInformation {
    return { client_id: 'mcp-desktop', issuer: realmUrl() };
  }
  state(): string {
    return this.expectedState;
  }
  tokens(): StoredOAuthTokens | undefined {
    return this.storedTokens;
  }
  saveTokens(tokens: StoredOAuthTokens): void {
    this.storedTokens = tokens;
  }
  redirectToAuthorization(authorizationUrl: URL): void {
    this.authorizationUrl = authorizationUrl;
  }
  saveCodeVerifier(codeVerifier: string): void {
    this.verifier = codeVerifier;
  }
  codeVerifier(): string {
    return this.verifier;
  }
  private discovered: OAuthDiscoveryState | undefined;
  /** Kept with the code verifier, so the SDK can bind the callback to the authorization server it used. */
  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.discovered = state;
  }
  discoveryState(): OAuthDiscoveryState | undefined {
    return this.discovered;
  }
  checkState(callback: URL): void {
    if (callback.searchParams.get('state') !== this.expectedState) throw new Error('state mismatch');
  }
}

let stack: TestStack;
let gw: RunningGateway;

beforeAll(async () => {
  stack = await startTestStack();
  gw = await startGateway(keycloakGatewayConfig(stack));
});

afterAll(async () => {
  await gw?.close();
  await stack?.close();
});

const newClient = (): Client => new Client({ name: 'keycloak-test-client', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });

function textOf(result: { content?: unknown }): string {
  return ((result.content ?? []) as Array<{ text?: string }>).map((block) => block.text ?? '').join('\n');
}

describe('an MCP client signs in through Keycloak', () => {
  it('authorization code + PKCE: 401 → resource metadata → Keycloak discovery → login page → tools', async () => {
    const provider = new HeadlessClientProvider();
    const mcpUrl = new URL(`${gw.url}/mcp`);

    const first = newClient();
    await expect(first.connect(new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider }))).rejects.toThrow(UnauthorizedError);
    const authorizationUrl = provider.authorizationUrl;
    expect(authorizationUrl?.href.startsWith(`${realmUrl()}/protocol/openid-connect/auth`)).toBe(true);
    expect(authorizationUrl?.searchParams.get('client_id')).toBe('mcp-desktop');
    expect(authorizationUrl?.searchParams.get('code_challenge_method')).toBe('S256');
    // The resource indicator (RFC 8707) is the /mcp URL, from the path-specific metadata.
    expect(authorizationUrl?.searchParams.get('resource')).toBe(mcpUrl.href);
    // The scopes the gateway names (the SDK adds offline_access, which Keycloak offers, for refresh tokens).
    expect(authorizationUrl?.searchParams.get('scope')?.split(' ')).toEqual(expect.arrayContaining(['openid', 'profile', 'email']));

    const callback = await signInOnLoginPage(authorizationUrl!, 'alice.chen');
    provider.checkState(callback);
    const transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider });
    await transport.finishAuth(callback.searchParams);
    const accessToken = provider.tokens()?.access_token ?? '';
    expect(claimsOf(accessToken)).toMatchObject({ azp: 'mcp-desktop', preferred_username: 'alice.chen', aud: expect.arrayContaining(['mcp-gateway']) });

    const client = newClient();
    await client.connect(transport);
    try {
      const names = (await client.listTools()).tools.map((tool) => tool.name);
      expect(names).toContain('hr__get_employee');
      expect(names.some((name) => name.startsWith('finance__'))).toBe(false);
      const result = await client.callTool({ name: 'hr__get_employee', arguments: { employeeId: 'E-1002' } });
      expect(result.isError, textOf(result)).not.toBe(true);
      expect(result.structuredContent).toMatchObject({ id: 'E-1002' });
    } finally {
      await client.close();
    }
  });

  it('client credentials: a client without a person, through the same discovery', async () => {
    const provider = new ClientCredentialsProvider({ clientId: AUTOMATION_CLIENT.id, clientSecret: AUTOMATION_CLIENT.secret, expectedIssuer: realmUrl() });
    const client = newClient();
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), { authProvider: provider }));
    try {
      const names = (await client.listTools()).tools.map((tool) => tool.name);
      // The service account holds support-read (and no employee role): support's tools only.
      expect(names).toContain('support__list_tickets');
      expect(names.some((name) => name.startsWith('hr__'))).toBe(false);
    } finally {
      await client.close();
    }
  });
});
