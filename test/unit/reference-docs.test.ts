import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { configurationReference, errorReference } from '../../scripts/reference-docs.js';

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
});
