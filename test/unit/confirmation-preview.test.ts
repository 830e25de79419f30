/** Confirmation previews, the pure parts: the preview tool's arguments and the text a card shows. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { MAX_PREVIEW_CHARS, previewArguments, render } from '../../src/gate/confirmation-preview.js';

describe('previewArguments', () => {
  it('a whole-value placeholder takes the call argument as is (type kept); other values pass unchanged', () => {
    expect(previewArguments({ id: '{{employeeId}}', count: '{{n}}', fields: ['name'], mode: 'brief' }, { employeeId: 'E-1042', n: 3 })).toEqual({
      id: 'E-1042',
      count: 3,
      fields: ['name'],
      mode: 'brief',
    });
  });

  it('a named argument missing from the call means no preview (own properties only)', () => {
    expect(previewArguments({ id: '{{employeeId}}' }, {})).toBeUndefined();
    expect(previewArguments({ id: '{{constructor}}' }, {})).toBeUndefined();
  });
});

describe('render', () => {
  const result = (structuredContent: Record<string, unknown>, text = 'Ada Lovelace (E-1042), Engineer, Engineering.') => ({ content: [{ type: 'text' as const, text }], structuredContent });

  it('fills {{field}} from structuredContent', () => {
    expect(render(result({ name: 'Ada Lovelace', department: 'Engineering', salary: 120_000, active: true }), '{{name}}, {{department}}: {{salary}} ({{active}})')).toBe(
      'Ada Lovelace, Engineering: 120000 (true)',
    );
  });

  it('without a text template: the text content, on one line', () => {
    expect(render({ content: [{ type: 'text', text: 'Ada Lovelace\n  (E-1042)' }, { type: 'text', text: 'Engineering' }] }, undefined)).toBe('Ada Lovelace (E-1042) Engineering');
  });

  it('nothing for a tool error, a missing or non-scalar field, or no structured content', () => {
    expect(render({ content: [{ type: 'text', text: 'Employee E-9999 not found' }], isError: true }, undefined)).toBeUndefined();
    expect(render(result({ name: 'Ada' }), '{{name}} in {{department}}')).toBeUndefined();
    expect(render(result({ name: { first: 'Ada' } }), '{{name}}')).toBeUndefined();
    expect(render(result({ name: null }), '{{name}}')).toBeUndefined();
    expect(render({ content: [] }, '{{name}}')).toBeUndefined();
    expect(render({ content: [] }, undefined)).toBeUndefined();
  });

  it('is cut to a card-sized line', () => {
    const preview = render(result({ name: 'x'.repeat(1_000) }), '{{name}}');
    expect(preview).toHaveLength(MAX_PREVIEW_CHARS);
    expect(preview?.endsWith('…')).toBe(true);
  });
});

describe('config', () => {
  it('a preview rule parses with its defaults', () => {
    const config = parseConfig(
      {
        auth: { issuers: ['https://id.example.com/realms/acme'], jwksUri: 'https://id.example.com/realms/acme/certs', clientId: 'mcp-gateway' },
        servers: { hr: { url: 'http://127.0.0.1:7001/mcp', roles: ['employee'], tools: { delete_employee: { preview: { tool: 'get_employee' } } } } },
      },
      {},
    );
    expect(config.servers.hr?.tools.delete_employee?.preview).toEqual({ tool: 'get_employee', arguments: {} });
    expect(config.confirmations.previewTimeoutMs).toBe(2_000);
  });
});
