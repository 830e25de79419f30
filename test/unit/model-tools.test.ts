/** What the model sees: tool definitions with cache breakpoints, and tool results framed as data. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_SYSTEM_PROMPT, frameToolResult, framedFailure, modelTools, systemBlocks } from '../../src/runs/model-tools.js';
import type { VisibleTool } from '../../src/upstream/tool-service.js';

function visible(server: string, name: string, effect: 'allow' | 'confirm' = 'allow', inputSchema: Record<string, unknown> = { type: 'object' }): VisibleTool {
  return {
    tool: { server, name, qualifiedName: `${server}__${name}`, title: undefined, description: `Does ${name}.`, inputSchema, annotations: undefined, fingerprint: 'f', changed: false },
    decision: { effect, reason: 'test' },
  };
}

describe('modelTools', () => {
  const tools = [
    visible('finance', 'list_invoices', 'allow', { $schema: 'https://json-schema.org/draft/2020-12/schema', properties: { b: { type: 'string' }, a: { type: 'integer' } }, type: 'object' }),
    visible('finance', 'delete_invoice', 'confirm'),
  ];

  it('keeps the given order and marks only the last tool as a cache breakpoint', () => {
    const defs = modelTools(tools, { finance: 'Invoices' });
    expect(defs.map((tool) => tool.name)).toEqual(['finance__list_invoices', 'finance__delete_invoice']);
    expect(defs[0]?.cache_control).toBeUndefined();
    expect(defs[1]?.cache_control).toEqual({ type: 'ephemeral' });
  });

  it('is byte-stable: key order of the schema does not matter, the draft marker is dropped', () => {
    const reordered = [visible('finance', 'list_invoices', 'allow', { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'string' } } }), tools[1]!];
    expect(JSON.stringify(modelTools(reordered, { finance: 'Invoices' }))).toBe(JSON.stringify(modelTools(tools, { finance: 'Invoices' })));
    expect(JSON.stringify(modelTools(tools, {}))).not.toContain('$schema');
  });

  it('names the server and says when a person must confirm', () => {
    const [list, remove] = modelTools(tools, { finance: 'Invoices' });
    expect(list?.description).toBe('[finance (Invoices)] Does list_invoices.');
    expect(remove?.description).toContain('A person must confirm this action before it runs.');
    expect(modelTools(tools, {})[0]?.description).toBe('[finance] Does list_invoices.');
  });

  it('offers nothing when nothing is visible', () => {
    expect(modelTools([], {})).toEqual([]);
  });
});

describe('systemBlocks', () => {
  it('carries a cache breakpoint, with the default prompt unless one is configured', () => {
    expect(systemBlocks(undefined)).toEqual([{ type: 'text', text: DEFAULT_SYSTEM_PROMPT, cache_control: { type: 'ephemeral' } }]);
    expect(systemBlocks('Be brief.')[0]?.text).toBe('Be brief.');
  });
});

describe('frameToolResult', () => {
  it('frames the output as data, unaltered (numbers and all)', () => {
    const framed = frameToolResult('hr', 'get_employee', { content: [{ type: 'text', text: 'Salary 123456, SSN 078-05-1120' }] }, 1_000);
    expect(framed).toEqual({
      content: '<tool_output server="hr" tool="get_employee">\nSalary 123456, SSN 078-05-1120\n</tool_output>',
      isError: false,
      truncated: false,
      summary: 'Salary 123456, SSN 078-05-1120',
    });
  });

  it('prefers structured content and marks errors', () => {
    const framed = frameToolResult('hr', 'x', { content: [{ type: 'text', text: 'oops' }], structuredContent: { a: 1 }, isError: true }, 1_000);
    expect(framed.content).toBe('<tool_output server="hr" tool="x" error="true">\n{"a":1}\n</tool_output>');
    expect(framed.isError).toBe(true);
    expect(framed.summary).toBe('oops');
  });

  it('truncates by UTF-8 bytes without splitting a character, and tells the model', () => {
    const framed = frameToolResult('hr', 'x', { content: [{ type: 'text', text: 'é'.repeat(10) }] }, 5);
    expect(framed.truncated).toBe(true);
    expect(framed.content).toContain('\néé\n</tool_output>');
    expect(framed.content).toContain('truncated to 5 bytes');
  });

  it('shortens a long summary and says what non-text content was left out', () => {
    const framed = frameToolResult('hr', 'x', { content: [{ type: 'text', text: 'x'.repeat(500) }, { type: 'image', data: 'AAAA', mimeType: 'image/png' }] }, 10_000);
    expect(framed.summary).toHaveLength(201);
    expect(framed.content).toContain('[image content omitted]');
  });
});

describe('framedFailure', () => {
  it('is an error result in the same frame', () => {
    expect(framedFailure('hr', 'x', 'boom')).toEqual({ content: '<tool_output server="hr" tool="x" error="true">\nboom\n</tool_output>', isError: true, truncated: false, summary: 'boom' });
  });
});
