/** Configuration: broken configs are refused with one precise line per problem, env interpolation, defaults. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile, parseConfig } from '../../src/config/load.js';

/** The smallest valid config; tests break one thing at a time. */
function minimal(): Record<string, unknown> {
  return {
    auth: { issuers: ['https://id.example.com/realms/acme'], jwksUri: 'https://id.example.com/realms/acme/certs', clientId: 'mcp-gateway' },
    servers: { hr: { url: 'http://127.0.0.1:7001/mcp', roles: ['employee'] } },
  };
}

/** Confirmation previews (servers.*.tools.*.preview) that can never work, each refused with its path. */
function previewCases(): [string, (config: Record<string, unknown>) => void, string[]][] {
  const withTools = (tools: Record<string, unknown>) => (c: Record<string, unknown>) => void (c.servers = { hr: { url: 'http://127.0.0.1:7001/mcp', roles: ['employee'], tools } });
  const preview = (rule: Record<string, unknown>) => ({ delete_employee: { preview: { tool: 'get_employee', ...rule } } });
  const at = 'servers.hr.tools.delete_employee.preview';
  return [
    ['a preview placeholder inside a longer string', withTools(preview({ arguments: { employeeId: 'E-{{id}}' } })), [`${at}.arguments.employeeId: a placeholder must be the whole value, e.g. "{{employeeId}}"`]],
    ['a preview placeholder with spaces', withTools(preview({ arguments: { employeeId: '{{ employeeId }}' } })), [`${at}.arguments.employeeId: a placeholder must be the whole value, e.g. "{{employeeId}}"`]],
    ['a malformed placeholder in the preview text', withTools(preview({ text: '{{name}} in {{department' })), [`${at}.text: placeholders look like {{field}} (letters, digits, _ and -)`]],
    ['an empty preview text', withTools(preview({ text: '' })), [`${at}.text: Too small: expected string to have >=1 characters`]],
    ['a preview without a tool', withTools({ delete_employee: { preview: { arguments: {} } } }), [`${at}.tool: Invalid input: expected string, received undefined`]],
    ['a misspelt preview key', withTools(preview({ args: {} })), [`${at}.args: unknown key`]],
    ['a tool previewed by itself', withTools(preview({ tool: 'delete_employee' })), [`${at}.tool: must be another tool than the one confirmed`]],
    [
      'a preview tool that needs confirmation',
      withTools({ ...preview({}), get_employee: { confirm: true } }),
      [`${at}.tool: get_employee needs confirmation itself (confirm: true)`],
    ],
    ['a hidden preview tool', withTools({ ...preview({}), get_employee: { hidden: true } }), [`${at}.tool: get_employee is hidden`]],
    ['a preview timeout over 10 s', (c) => void (c.confirmations = { previewTimeoutMs: 60_000 }), ['confirmations.previewTimeoutMs: Too big: expected number to be <=10000']],
  ];
}

/** The problems parseConfig reports for a raw config (fails the test if it is accepted). */
function problemsOf(raw: unknown, env: NodeJS.ProcessEnv = {}): readonly string[] {
  try {
    parseConfig(raw, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('the config was accepted');
}

describe('parseConfig refuses broken configs with precise messages', () => {
  it.each<[string, (config: Record<string, unknown>) => void, string[]]>([
    ['a server URL that is not http(s)', (c) => void (c.servers = { hr: { url: 'ftp://files.example.com', roles: ['employee'] } }), ['servers.hr.url: must be an http(s) URL']],
    ['a server URL that is not a URL', (c) => void (c.servers = { hr: { url: 'hr-server', roles: ['employee'] } }), ['servers.hr.url: must be an http(s) URL']],
    ['missing auth', (c) => void delete c.auth, ['auth: Invalid input: expected object, received undefined']],
    ['auth without issuers', (c) => void (c.auth = { ...(c.auth as object), issuers: [] }), ['auth.issuers: must list at least one issuer']],
    ['a JWKS cooldown as long as the refresh interval', (c) => void (c.auth = { ...(c.auth as object), jwksRefreshIntervalMs: 5_000, jwksCooldownMs: 5_000 }), ['auth.jwksCooldownMs: must be shorter than auth.jwksRefreshIntervalMs']],
    ['a public issuer that is not an accepted issuer', (c) => void (c.auth = { ...(c.auth as object), publicIssuers: ['https://other.example.com/realms/acme'] }), ['auth.publicIssuers.0: must be one of auth.issuers']],
    ['a scope with a space in it', (c) => void (c.auth = { ...(c.auth as object), scopes: ['openid profile'] }), ['auth.scopes.0: must be an OAuth scope token']],
    ['a misspelt back-channel logout key', (c) => void (c.auth = { ...(c.auth as object), backchannelLogout: { trustedClient: ['mcp-console'] } }), ['auth.backchannelLogout.trustedClient: unknown key']],
    ['an unknown signing algorithm', (c) => void (c.auth = { ...(c.auth as object), algorithms: ['HS256'] }), ['auth.algorithms.0: Invalid option: expected one of "RS256"|"RS384"|"RS512"|"PS256"|"PS384"|"PS512"|"ES256"|"ES384"|"ES512"|"EdDSA"']],
    ['no servers', (c) => void (c.servers = {}), ['servers: must configure at least one server']],
    ['a server granted to nobody', (c) => void (c.servers = { hr: { url: 'http://127.0.0.1:7001/mcp', roles: [] } }), ['servers.hr.roles: must grant the server to at least one role']],
    ['a server name with a space', (c) => void (c.servers = { 'h r': { url: 'http://127.0.0.1:7001/mcp', roles: ['employee'] } }), ['servers.h r: must be 1-40 characters of [a-zA-Z0-9_-]']],
    ['a store URL that is not redis://', (c) => void (c.store = { driver: 'redis', url: 'http://127.0.0.1:6379' }), ['store.url: must be a redis:// or rediss:// URL']],
    ['a redis store without url, sentinel or cluster', (c) => void (c.store = { driver: 'redis' }), ['store.driver: set exactly one of url, sentinel or cluster']],
    ['an unknown key at the top level', (c) => void (c.bogus = true), ['bogus: unknown key']],
    ['a misspelt nested key', (c) => void (c.revocation = { onStoreErorr: 'fail-closed' }), ['revocation.onStoreErorr: unknown key']],
    ['an unknown key in a server', (c) => void (c.servers = { hr: { url: 'http://127.0.0.1:7001/mcp', roles: ['employee'], role: ['x'] } }), ['servers.hr.role: unknown key']],
    ['a port out of range', (c) => void (c.server = { port: 70_000 }), ['server.port: Too big: expected number to be <=65535']],
    ['rate tiers without a default tier', (c) => void (c.limits = { tiers: [{ name: 'exec', roles: ['executive'], queriesPerHour: 1, requestsPerMinute: 1, tokensPerDay: 1 }] }), ['limits.tiers: must include a default tier with no roles']],
    ...previewCases(),
    ['a bad revocation policy', (c) => void (c.revocation = { onStoreError: 'fail-sometimes' }), ['revocation.onStoreError: Invalid option: expected one of "fail-open"|"fail-closed"']],
  ])('%s', (_label, breakIt, expected) => {
    const config = minimal();
    breakIt(config);
    expect(problemsOf(config)).toEqual(expected);
  });

  it('reports every problem at once, each with its path', () => {
    const problems = problemsOf({ auth: { issuers: ['not a url'], jwksUri: 'https://id.example.com/certs' }, servers: {}, extra: 1 });
    expect(problems).toEqual(
      expect.arrayContaining([
        'auth.issuers.0: must be an http(s) URL',
        'auth.clientId: Invalid input: expected string, received undefined',
        'servers: must configure at least one server',
        'extra: unknown key',
      ]),
    );
    expect(problems).toHaveLength(4);
  });

  it('the error message lists the problems too', () => {
    expect(() => parseConfig({ ...minimal(), servers: {} }, {})).toThrow(/Invalid configuration:\n {2}servers: must configure at least one server/);
  });
});

describe('${ENV} interpolation', () => {
  it('replaces references in any string, including in arrays and nested objects', () => {
    const config = parseConfig(
      {
        ...minimal(),
        servers: { hr: { url: '${HR_URL}', roles: ['employee'], headers: { 'x-api-key': 'key-${HR_KEY}' } } },
        store: { driver: 'redis', url: '${REDIS_URL}' },
        auth: { issuers: ['${ISSUER}', 'https://public.example.com/realms/acme'], jwksUri: 'https://id.example.com/certs', clientId: 'mcp-gateway' },
      },
      { HR_URL: 'http://hr.internal:7001/mcp', HR_KEY: 's3cr3t', REDIS_URL: 'redis://redis.internal:6379', ISSUER: 'https://id.internal/realms/acme' },
    );
    expect(config.servers.hr?.url).toBe('http://hr.internal:7001/mcp');
    expect(config.servers.hr?.headers).toEqual({ 'x-api-key': 'key-s3cr3t' });
    expect(config.store).toMatchObject({ driver: 'redis', url: 'redis://redis.internal:6379' });
    expect(config.auth.issuers).toEqual(['https://id.internal/realms/acme', 'https://public.example.com/realms/acme']);
  });

  it('uses ${NAME:-default} when the variable is unset, and the variable when set', () => {
    const raw = { ...minimal(), llm: { model: '${MODEL:-claude-test}' } };
    expect(parseConfig(raw, {}).llm.model).toBe('claude-test');
    expect(parseConfig(raw, { MODEL: 'claude-other' }).llm.model).toBe('claude-other');
  });

  it('reports a missing variable with the path that needs it (once, without a follow-on complaint)', () => {
    const raw = { ...minimal(), servers: { hr: { url: '${HR_URL}', roles: ['employee'] } }, llm: { apiKey: '${ANTHROPIC_KEY}' } };
    expect(problemsOf(raw)).toEqual(['servers.hr.url: environment variable HR_URL is not set', 'llm.apiKey: environment variable ANTHROPIC_KEY is not set']);
  });

  it('never lets a value change the document shape (interpolation happens after parsing)', () => {
    const config = parseConfig({ ...minimal(), llm: { apiKey: '${KEY}' } }, { KEY: 'abc\nbogus: true' });
    expect(config.llm.apiKey).toBe('abc\nbogus: true');
  });
});

describe('defaults', () => {
  const config = parseConfig(minimal(), {});

  it('fills every section', () => {
    expect(config.server).toMatchObject({ host: '127.0.0.1', port: 8080, trustProxy: false, bodyLimit: 1_048_576, cors: { origins: [] } });
    expect(config.auth).toMatchObject({ algorithms: ['RS256', 'ES256', 'PS256'], clockToleranceSec: 30, adminRole: 'gateway-admin', audiences: [] });
    expect(config.revocation).toEqual({ onStoreError: 'fail-open', maxStalenessMs: 30_000, resyncIntervalMs: 5_000, maxTokenLifetimeSec: 86_400 });
    expect(config.store).toEqual({ driver: 'memory' });
    expect(config.servers.hr).toMatchObject({ description: '', tools: {}, unprefixed: false, headers: {} });
    expect(config.confirmations.defaultRule).toBe('annotations');
    expect(config.limits.tiers.map((tier) => tier.name)).toEqual(['executive', 'hr-write', 'hr-read', 'default']);
    expect(config.llm).toMatchObject({ provider: 'anthropic', maxTokens: 4_096 });
    expect(config.metrics.enabled).toBe(true);
  });

  it('a redis store gets its key prefix and connect timeout', () => {
    expect(parseConfig({ ...minimal(), store: { driver: 'redis', url: 'redis://127.0.0.1:6379' } }, {}).store).toEqual({
      driver: 'redis',
      url: 'redis://127.0.0.1:6379',
      keyPrefix: 'mcpgw:',
      connectTimeoutMs: 2_000,
    });
  });
});

describe('loadConfigFile', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gateway-config-test-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function file(name: string, text: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  }

  it('loads a YAML file with env interpolation', async () => {
    const path = await file(
      'good.yaml',
      [
        'server: { publicUrl: "https://mcp-gateway.example.com/" }',
        'auth:',
        '  issuers: [https://id.example.com/realms/acme]',
        '  jwksUri: https://id.example.com/realms/acme/certs',
        '  clientId: mcp-gateway',
        'servers:',
        '  hr:',
        '    url: ${HR_URL}',
        '    roles: [employee, hr-read]',
        '    tools:',
        '      delete_employee: { roles: [hr-write], confirm: true }',
      ].join('\n'),
    );
    const config = await loadConfigFile(path, { HR_URL: 'http://127.0.0.1:7001/mcp' });
    expect(config.servers.hr).toMatchObject({ url: 'http://127.0.0.1:7001/mcp', roles: ['employee', 'hr-read'], tools: { delete_employee: { roles: ['hr-write'], confirm: true } } });
  });

  it('refuses a file without server.publicUrl: the gateway must not derive its public URL from a Host header', async () => {
    const path = await file(
      'no-public-url.yaml',
      ['auth: { issuers: [https://id.example.com/realms/acme], jwksUri: https://id.example.com/certs, clientId: mcp-gateway }', 'servers:', '  hr: { url: "http://127.0.0.1:7001/mcp", roles: [employee] }'].join('\n'),
    );
    await expect(loadConfigFile(path, {})).rejects.toMatchObject({ problems: [expect.stringMatching(/^server\.publicUrl: required in a configuration file/)] });
  });

  it('reports schema problems with their paths', async () => {
    const path = await file('bad.yaml', ['auth:', '  issuers: []', '  jwksUri: nope', '  clientId: x', 'servers:', '  hr: { url: "ftp://x", roles: [a] }'].join('\n'));
    await expect(loadConfigFile(path, {})).rejects.toMatchObject({
      problems: ['auth.issuers: must list at least one issuer', 'auth.jwksUri: must be an http(s) URL', 'servers.hr.url: must be an http(s) URL'],
    });
  });

  it('reports invalid YAML', async () => {
    const path = await file('broken.yaml', 'auth: [unclosed\n');
    const error = await loadConfigFile(path, {}).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([expect.stringMatching(/broken\.yaml: not valid YAML: /)]);
  });

  it('reports a missing file', async () => {
    const error = await loadConfigFile(join(dir, 'absent.yaml'), {}).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([expect.stringMatching(/absent\.yaml: cannot be read \(ENOENT\)/)]);
  });

  it('treats an empty file as an empty config (and reports what is missing)', async () => {
    const path = await file('empty.yaml', '');
    await expect(loadConfigFile(path, {})).rejects.toMatchObject({
      problems: expect.arrayContaining([expect.stringMatching(/^auth: /), expect.stringMatching(/^servers: /)]),
    });
  });
});
