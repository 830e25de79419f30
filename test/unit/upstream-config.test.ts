/**
 * The upstream shapes of the config (issue 9): transports and per-server credentials are validated
 * with precise paths, and the README's example of them is a valid configuration.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ConfigError, parseConfig } from '../../src/config/load.js';

const base = {
  auth: { issuers: ['https://sso.example.com/realms/acme'], jwksUri: 'https://sso.example.com/realms/acme/certs', clientId: 'mcp-gateway' },
};

function problems(servers: Record<string, unknown>): string[] {
  try {
    parseConfig({ ...base, servers }, { KEY: 'k' });
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

describe('servers.<name> transports', () => {
  it('defaults to streamable-http with a url and to stdio with a command', () => {
    const config = parseConfig({ ...base, servers: { a: { url: 'http://a.internal/mcp', roles: ['r'] }, b: { command: 'mcp-b', roles: ['r'] } } }, {});
    expect(config.servers.a?.transport).toBe('streamable-http');
    expect(config.servers.b?.transport).toBe('stdio');
    expect(config.servers.b?.args).toEqual([]);
  });

  it.each([
    [{ roles: ['r'] }, 'servers.x.url: is required for the streamable-http transport'],
    [{ transport: 'stdio', roles: ['r'] }, 'servers.x.command: is required for the stdio transport'],
    [{ transport: 'sse', roles: ['r'], command: 'x' }, 'servers.x.url: is required for the sse transport'],
    [{ url: 'http://x/mcp', command: 'x', roles: ['r'] }, 'servers.x.command: set either url (HTTP transports) or command (stdio), not both'],
    [{ url: 'http://x/mcp', args: ['-v'], roles: ['r'] }, 'servers.x.args: only for the stdio transport'],
    [{ command: 'x', headers: { a: 'b' }, roles: ['r'] }, 'servers.x.headers: stdio servers have no headers'],
    [{ command: 'x', auth: { type: 'bearer', token: 't' }, roles: ['r'] }, 'servers.x.auth.type: stdio servers take only assertion (in _meta) or none'],
    [{ transport: 'websocket', url: 'http://x/mcp', roles: ['r'] }, 'servers.x.transport:'],
  ])('%j → %s', (server, problem) => {
    expect(problems({ x: server }).join('\n')).toContain(problem);
  });
});

describe('servers.<name>.auth', () => {
  const http = { url: 'https://x.example/mcp', roles: ['r'] };

  it.each([
    [{ type: 'bearer' }, 'servers.x.auth.token'],
    [{ type: 'oauth2-client-credentials', clientId: 'c', clientSecret: 's' }, 'servers.x.auth.tokenEndpoint'],
    [{ type: 'oauth2-client-credentials', tokenEndpoint: 'https://sso/token', clientSecret: 's' }, 'servers.x.auth.clientId'],
    [{ type: 'token-exchange', clientSecret: 's' }, 'servers.x.auth.audience'],
    [{ type: 'token-exchange', audience: 'a' }, 'servers.x.auth.clientSecret'],
    [{ type: 'kerberos' }, 'servers.x.auth.type'],
    [{ type: 'bearer', token: 't', assertionHeader: 'Authorization' }, 'servers.x.auth.assertionHeader: must not be authorization'],
    [{ type: 'none', extra: 1 }, 'servers.x.auth.extra: unknown key'],
  ])('%j fails with %s', (auth, path) => {
    expect(problems({ x: { ...http, auth } }).join('\n')).toContain(path);
  });

  it('a static Authorization header cannot fight a credential that sets it', () => {
    expect(problems({ x: { ...http, headers: { Authorization: 'Bearer x' }, auth: { type: 'bearer', token: 't' } } }).join('\n')).toContain(
      'servers.x.headers.Authorization: conflicts with auth.type bearer',
    );
    expect(problems({ x: { ...http, headers: { Authorization: 'Basic x' }, auth: { type: 'none' } } })).toEqual([]);
  });

  it('maxTotalTimeoutMs cannot be below timeoutMs', () => {
    expect(problems({ x: { ...http, timeoutMs: 5000, maxTotalTimeoutMs: 1000 } }).join('\n')).toContain('servers.x.maxTotalTimeoutMs: must be at least timeoutMs');
  });
});

describe('the README example of upstream servers', () => {
  it('is a valid configuration', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const example = /### Upstream servers: any transport[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toBeDefined();
    const config = parseConfig({ ...base, ...(parseYaml(example!) as object) }, { SEARCH_VENDOR_KEY: 'k', GATEWAY_CLIENT_SECRET: 's' });
    expect(config.servers.files).toMatchObject({ transport: 'stdio', command: 'npx' });
    expect(config.servers.time).toMatchObject({ transport: 'stdio', command: 'mcp-server-time', args: ['--local-timezone', 'UTC'] });
    expect(config.servers.wiki?.transport).toBe('sse');
    expect(config.servers.search?.auth).toMatchObject({ type: 'bearer', token: 'k', assertionHeader: 'x-gateway-assertion' });
    expect(config.servers.inventory?.auth).toMatchObject({ type: 'token-exchange', audience: 'inventory-mcp', clientSecret: 's' });
  });
});
