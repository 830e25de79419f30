/**
 * The Keycloak realm in deploy/keycloak/ stays in step with the demo (users, their ids and roles, the
 * roles the demo profile grants servers to) and with the README's production configuration, so that
 * importing the realm and using that configuration is all a user has to do.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { demoConfig } from '../../src/config/demo-profile.js';
import { parseConfig } from '../../src/config/load.js';
import { DEMO_USERS } from '../../src/dev/demo-users.js';

interface RealmClient {
  clientId: string;
  publicClient?: boolean;
  secret?: string;
  standardFlowEnabled?: boolean;
  redirectUris?: string[];
  attributes?: Record<string, string>;
  protocolMappers?: Array<{ protocolMapper: string; config: Record<string, string> }>;
}
interface RealmUser {
  id?: string;
  username: string;
  email?: string;
  realmRoles?: string[];
  clientRoles?: Record<string, string[]>;
  credentials?: Array<{ type: string; value: string }>;
}
interface Realm {
  realm: string;
  roles: { realm: Array<{ name: string }>; client: Record<string, Array<{ name: string }>> };
  users: RealmUser[];
  clients: RealmClient[];
}

const realm = JSON.parse(await readFile(new URL('../../deploy/keycloak/acme-realm.json', import.meta.url), 'utf8')) as Realm;
const client = (clientId: string): RealmClient => {
  const found = realm.clients.find((candidate) => candidate.clientId === clientId);
  if (found === undefined) throw new Error(`the realm has no client ${clientId}`);
  return found;
};
const audiences = (clientId: string): string[] =>
  (client(clientId).protocolMappers ?? []).filter((mapper) => mapper.protocolMapper === 'oidc-audience-mapper').map((mapper) => mapper.config['included.client.audience'] ?? '');

async function readmeProductionConfig() {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  const example = /## Production set-up[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  return parseConfig(parseYaml(example), { REDIS_URL: 'redis://redis.internal:6379', FINANCE_MCP_KEY: 'k', ANTHROPIC_API_KEY: 'a' });
}

describe('the Keycloak realm for the demo organisation', () => {
  it('holds every demo user with the same id, email, realm roles and mcp-gateway client roles, and a password', () => {
    for (const user of DEMO_USERS) {
      const imported = realm.users.find((candidate) => candidate.username === user.username);
      expect(imported, user.username).toBeDefined();
      expect(imported?.id).toBe(user.sub);
      expect(imported?.email).toBe(user.email);
      expect((imported?.realmRoles ?? []).filter((role) => role !== `default-roles-${realm.realm}`).sort()).toEqual([...user.realmRoles].sort());
      expect(imported?.clientRoles?.['mcp-gateway'] ?? []).toEqual([...user.clientRoles]);
      expect(imported?.credentials?.[0]?.type).toBe('password');
    }
  });

  it('defines every role the demo grants servers and tools to, as a realm role or an mcp-gateway client role', () => {
    const config = demoConfig({ issuerUrl: 'http://x', jwksUri: 'http://x/jwks', clientId: 'mcp-gateway', servers: { hr: 'http://x', finance: 'http://x', sales: 'http://x', support: 'http://x' }, simulatedModelUrl: undefined }, {});
    const defined = new Set([...realm.roles.realm.map((role) => role.name), ...(realm.roles.client['mcp-gateway'] ?? []).map((role) => role.name)]);
    const granted = Object.values(config.servers ?? {}).flatMap((server) => [...(server.roles ?? []), ...Object.values(server.tools ?? {}).flatMap((rule) => rule.roles ?? [])]);
    for (const role of granted) expect(defined.has(role), role).toBe(true);
    expect(defined.has('gateway-admin')).toBe(true);
  });

  it('has a confidential mcp-gateway client that may exchange tokens and receives back-channel logouts', () => {
    const gateway = client('mcp-gateway');
    expect(gateway.publicClient).toBe(false);
    expect(gateway.attributes?.['standard.token.exchange.enabled']).toBe('true');
    expect(gateway.attributes?.['backchannel.logout.url']).toMatch(/\/backchannel-logout$/);
    expect(audiences('mcp-gateway')).toContain('mcp-gateway');
  });

  it.each(['mcp-console', 'mcp-desktop'])('%s is a public client with authorization code + PKCE whose tokens name the gateway', (clientId) => {
    const signIn = client(clientId);
    expect(signIn.publicClient).toBe(true);
    expect(signIn.standardFlowEnabled).toBe(true);
    expect(signIn.attributes?.['pkce.code.challenge.method']).toBe('S256');
    expect(signIn.attributes?.['backchannel.logout.url']).toMatch(/\/backchannel-logout$/);
    expect(audiences(clientId)).toEqual(['mcp-gateway']);
  });

  it("matches the README's production configuration: its client, and the sign-in clients it trusts for logout", async () => {
    const config = await readmeProductionConfig();
    expect(config.auth.issuers[0]).toMatch(new RegExp(`/realms/${realm.realm}$`));
    expect(config.auth.jwksUri).toMatch(new RegExp(`/realms/${realm.realm}/protocol/openid-connect/certs$`));
    expect(client(config.auth.clientId).publicClient).toBe(false);
    for (const trusted of config.auth.backchannelLogout.trustedClients) expect(client(trusted).attributes?.['backchannel.logout.url']).toBeDefined();
    expect(config.console.signIn?.issuer).toBe(config.auth.issuers[0]);
    expect(client(config.console.signIn?.clientId ?? '').publicClient).toBe(true);
    const realmRoles = new Set(realm.roles.realm.map((role) => role.name));
    const clientRoles = new Set((realm.roles.client[config.auth.clientId] ?? []).map((role) => role.name));
    for (const server of Object.values(config.servers)) {
      for (const role of server.roles) expect(realmRoles.has(role) || clientRoles.has(role), role).toBe(true);
    }
  });
});
