/** Qualified tool names: provider-safe, at most 64 characters, deterministic, collision-free, mapped back by table. */
import { describe, expect, it } from 'vitest';
import { MAX_TOOL_NAME_LENGTH, NameTable, qualifiedName } from '../../src/upstream/names.js';

const PROVIDER_SAFE = /^[a-zA-Z0-9_-]{1,64}$/;

describe('qualifiedName', () => {
  it('is server__tool when that fits', () => {
    expect(qualifiedName('hr', 'list_employees')).toBe('hr__list_employees');
    expect(qualifiedName('hr', 'list_employees', false)).toBe('list_employees');
  });

  it('keeps a name of exactly 64 characters as it is', () => {
    const tool = 't'.repeat(MAX_TOOL_NAME_LENGTH - 'hr__'.length);
    expect(qualifiedName('hr', tool)).toBe(`hr__${tool}`);
    expect(qualifiedName('hr', tool)).toHaveLength(64);
  });

  it('shortens a longer name to 64 characters with a hash, deterministically', () => {
    const tool = 't'.repeat(MAX_TOOL_NAME_LENGTH - 'hr__'.length + 1);
    const name = qualifiedName('hr', tool);
    expect(name).toHaveLength(64);
    expect(name).toMatch(PROVIDER_SAFE);
    expect(name).toMatch(/^hr__t+_[0-9a-f]{8}$/);
    expect(qualifiedName('hr', tool)).toBe(name);
  });

  it('gives two long names with the same beginning different names', () => {
    const common = 'x'.repeat(80);
    const first = qualifiedName('finance', `${common}_one`);
    const second = qualifiedName('finance', `${common}_two`);
    expect(first).not.toBe(second);
    expect(first.slice(0, 55)).toBe(second.slice(0, 55));
  });

  it('the hash depends on the server too', () => {
    const tool = 'y'.repeat(100);
    expect(qualifiedName('sales', tool)).not.toBe(qualifiedName('support', tool));
  });

  it('replaces characters providers refuse, and hashes so the original stays distinguishable', () => {
    const dotted = qualifiedName('hr', 'employees.list');
    expect(dotted).toMatch(PROVIDER_SAFE);
    expect(dotted).toMatch(/^hr__employees_list_[0-9a-f]{8}$/);
    expect(dotted).not.toBe(qualifiedName('hr', 'employees_list'));
    expect(qualifiedName('hr', 'liste des employés')).toMatch(PROVIDER_SAFE);
    expect(qualifiedName('hr', 'a/b', false)).toMatch(/^a_b_[0-9a-f]{8}$/);
  });
});

describe('NameTable', () => {
  it('maps names back to their server and tool, and addresses to names', () => {
    const table = NameTable.build([
      { server: 'hr', tool: 'list_employees', unprefixed: false },
      { server: 'finance', tool: 'list_invoices', unprefixed: false },
    ]);
    expect(table.resolve('hr__list_employees')).toEqual({ server: 'hr', tool: 'list_employees' });
    expect(table.nameOf('finance', 'list_invoices')).toBe('finance__list_invoices');
    expect(table.resolve('list_employees')).toBeUndefined();
    expect(table.resolve('hr__nope')).toBeUndefined();
    expect(table.nameOf('hr', 'nope')).toBeUndefined();
  });

  it('resolves shortened names through the table (never by parsing)', () => {
    const tool = 'generate_the_quarterly_headcount_report_for_every_department_in_the_company';
    const table = NameTable.build([{ server: 'hr', tool, unprefixed: false }]);
    const name = table.nameOf('hr', tool);
    expect(name).toHaveLength(64);
    expect(table.resolve(name ?? '')).toEqual({ server: 'hr', tool });
  });

  it('unprefixed servers expose bare names when nothing collides', () => {
    const table = NameTable.build([
      { server: 'search', tool: 'web_search', unprefixed: true },
      { server: 'hr', tool: 'list_employees', unprefixed: false },
    ]);
    expect(table.nameOf('search', 'web_search')).toBe('web_search');
    expect(table.resolve('web_search')).toEqual({ server: 'search', tool: 'web_search' });
    expect(table.nameOf('hr', 'list_employees')).toBe('hr__list_employees');
  });

  it('an unprefixed tool keeps its prefix when another server has a tool of the same name', () => {
    const table = NameTable.build([
      { server: 'sales', tool: 'list', unprefixed: true },
      { server: 'support', tool: 'list', unprefixed: false },
    ]);
    expect(table.nameOf('sales', 'list')).toBe('sales__list');
    expect(table.nameOf('support', 'list')).toBe('support__list');
  });

  it('an unprefixed tool keeps its prefix when its bare name equals another tool’s qualified name', () => {
    const table = NameTable.build([
      { server: 'proxy', tool: 'hr__list_employees', unprefixed: true },
      { server: 'hr', tool: 'list_employees', unprefixed: false },
    ]);
    expect(table.nameOf('proxy', 'hr__list_employees')).toBe('proxy__hr__list_employees');
    expect(table.resolve('hr__list_employees')).toEqual({ server: 'hr', tool: 'list_employees' });
  });

  it('two addresses whose qualified names coincide get distinct names, and each resolves to itself', () => {
    // Server and tool names may both contain the separator: a/b__c and a__b/c both read "a__b__c".
    const tools = [
      { server: 'a', tool: 'b__c', unprefixed: false },
      { server: 'a__b', tool: 'c', unprefixed: false },
      { server: 'hr', tool: 'list_employees', unprefixed: false },
    ];
    const table = NameTable.build(tools);
    const first = table.nameOf('a', 'b__c');
    const second = table.nameOf('a__b', 'c');
    expect(first).toBeDefined();
    expect(second).toBeDefined();
    expect(first).not.toBe(second);
    expect(first).toMatch(PROVIDER_SAFE);
    expect(second).toMatch(PROVIDER_SAFE);
    expect(table.resolve(first ?? '')).toEqual({ server: 'a', tool: 'b__c' });
    expect(table.resolve(second ?? '')).toEqual({ server: 'a__b', tool: 'c' });
    expect(table.nameOf('hr', 'list_employees')).toBe('hr__list_employees');
    // Deterministic whatever the order the catalogue lists tools in.
    const reversed = NameTable.build([...tools].reverse());
    expect(reversed.nameOf('a', 'b__c')).toBe(first);
    expect(reversed.nameOf('a__b', 'c')).toBe(second);
  });

  it('every name in a large mixed table is provider-safe, unique and round-trips', () => {
    const tools = ['hr', 'finance', 'sales.eu', 'x'.repeat(40)].flatMap((server, s) =>
      ['list', 'get.one', 'z'.repeat(70), `tool_${s}`].map((tool) => ({ server, tool, unprefixed: s % 2 === 0 })),
    );
    const table = NameTable.build(tools);
    const names = tools.map(({ server, tool }) => table.nameOf(server, tool) ?? '');
    expect(new Set(names).size).toBe(tools.length);
    for (const [index, name] of names.entries()) {
      expect(name).toMatch(PROVIDER_SAFE);
      expect(table.resolve(name)).toEqual({ server: tools[index]?.server, tool: tools[index]?.tool });
    }
  });
});
