/**
 * What the Keycloak tests share: the running server (from global-setup.ts), its token endpoint and
 * admin API, and gateway configs pointing at it.
 */
import { decodeJwt } from 'jose';
import { KEYCLOAK_ADMIN } from '../../scripts/keycloak.js';
import type { GatewayConfig } from '../../src/config/schema.js';
import { testConfig, type ConfigOverrides, type TestStack } from '../helpers/stack.js';

export const REALM = 'acme';
export const PASSWORD = 'demo-password';
export const GATEWAY_CLIENT = { id: 'mcp-gateway', secret: 'mcp-gateway-demo-secret' } as const;
export const AUTOMATION_CLIENT = { id: 'mcp-automation', secret: 'mcp-automation-demo-secret' } as const;

export function keycloakUrl(): string {
  const url = process.env.KEYCLOAK_URL;
  if (url === undefined) throw new Error('KEYCLOAK_URL is not set (the Keycloak global setup did not run?)');
  return url;
}

/** The same realm under its other name: `localhost` instead of `127.0.0.1` (split-horizon DNS in miniature). */
export function localhostUrl(url = keycloakUrl()): string {
  return url.replace('127.0.0.1', 'localhost');
}

export const realmUrl = (realm = REALM, base = keycloakUrl()): string => `${base}/realms/${realm}`;
export const tokenEndpoint = (realm = REALM, base = keycloakUrl()): string => `${realmUrl(realm, base)}/protocol/openid-connect/token`;

export interface TokenResponse {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
  expires_in: number;
  [key: string]: unknown;
}

export async function tokenRequest(form: Record<string, string>, endpoint = tokenEndpoint()): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function tokens(form: Record<string, string>, endpoint?: string): Promise<TokenResponse> {
  const { status, body } = await tokenRequest(form, endpoint);
  if (status !== 200) throw new Error(`token request failed (${status}): ${JSON.stringify(body)}`);
  return body as TokenResponse;
}

/** Password grant at the gateway's own client (direct access grants are on in the demo realm). */
export function passwordGrant(username: string, options: { realm?: string; base?: string; scope?: string; client?: { id: string; secret: string } } = {}): Promise<TokenResponse> {
  const client = options.client ?? GATEWAY_CLIENT;
  return tokens(
    { grant_type: 'password', client_id: client.id, client_secret: client.secret, username, password: PASSWORD, scope: options.scope ?? 'openid' },
    tokenEndpoint(options.realm, options.base),
  );
}

export function clientCredentialsGrant(client: { id: string; secret: string } = AUTOMATION_CLIENT, realm?: string): Promise<TokenResponse> {
  return tokens({ grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret }, tokenEndpoint(realm));
}

/** A master-realm admin token for the admin API (short-lived; fetched per use). */
export async function adminToken(): Promise<string> {
  const response = await tokens(
    { grant_type: 'password', client_id: 'admin-cli', username: KEYCLOAK_ADMIN.username, password: KEYCLOAK_ADMIN.password },
    tokenEndpoint('master'),
  );
  return response.access_token;
}

/** Calls the admin API (`/admin/realms/...`); returns the parsed body (or undefined) and the Location header. */
export async function admin<T = unknown>(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: T; location: string | null }> {
  const response = await fetch(`${keycloakUrl()}/admin/realms${path}`, {
    method,
    headers: { authorization: `Bearer ${token ?? (await adminToken())}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status >= 400) throw new Error(`admin ${method} ${path} failed (${response.status}): ${text}`);
  return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as T, location: response.headers.get('location') };
}

/** The internal id of a client of the realm. */
export async function clientUuid(clientId: string, realm = REALM): Promise<string> {
  const { body } = await admin<Array<{ id: string }>>('GET', `/${realm}/clients?clientId=${encodeURIComponent(clientId)}`);
  const id = body[0]?.id;
  if (id === undefined) throw new Error(`no client ${clientId} in ${realm}`);
  return id;
}

export function claimsOf(token: string): Record<string, unknown> {
  return decodeJwt(token);
}

/** The demo gateway config (sample servers, simulated model) with Keycloak as its identity provider. */
export function keycloakGatewayConfig(stack: TestStack, overrides: ConfigOverrides = {}, realm = REALM): GatewayConfig {
  const issuer = realmUrl(realm);
  return testConfig(stack, {
    ...overrides,
    auth: {
      issuers: [issuer],
      jwksUri: `${issuer}/protocol/openid-connect/certs`,
      clientId: GATEWAY_CLIENT.id,
      backchannelLogout: { trustedClients: ['mcp-console', 'mcp-desktop'] },
      ...overrides.auth,
    },
  });
}
