import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { configurationReference, errorReference } from '../../scripts/reference-docs.js';
import { parseConfig } from '../../src/config/load.js';

describe('generated reference docs', () => {
  it('docs/configuration.md matches the config schema (run `npm run docs` after changing it)', async () => {
    expect(await readFile(new URL('../../docs/configuration.md', import.meta.url), 'utf8')).toBe(configurationReference());
  });

  it('docs/errors.md matches the error catalogue (run `npm run docs` after changing it)', async () => {
    expect(await readFile(new URL('../../docs/errors.md', import.meta.url), 'utf8')).toBe(errorReference());
  });

  it('lists every top-level config section and every error code', () => {
    const configuration = configurationReference();
    for (const section of ['server', 'auth', 'store', 'servers', 'llm', 'limits', 'sse', 'shutdown', 'revocation', 'upstream']) {
      expect(configuration).toContain(`| \`${section}.`);
    }
    expect(errorReference()).toContain('| `AUTH_1001` | 401 | no |');
  });

  it('the production example in the README is a valid configuration', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const example = /## Production set-up[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toBeDefined();
    const config = parseConfig(parseYaml(example!), { REDIS_URL: 'redis://redis.internal:6379', FINANCE_MCP_KEY: 'k', ANTHROPIC_API_KEY: 'a' });
    expect(config.store.driver).toBe('redis');
    expect(config.servers.hr?.tools.delete_employee?.roles).toEqual(['hr-write', 'executive']);
  });
});
