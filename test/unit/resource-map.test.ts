/**
 * The gateway URI table (resource-map.ts) and pagination over an aggregate (pagination.ts): pure logic.
 */
import { describe, expect, it } from 'vitest';
import { page } from '../../src/mcp/pagination.js';
import { ResourceMap } from '../../src/upstream/resource-map.js';

const map = ResourceMap.build([
  { server: 'hr', unprefixed: false, uris: ['file:///handbook.md', 'shared://logo'], templates: ['hr://employees/{id}', 'file:///{+path}'] },
  { server: 'wiki', unprefixed: true, uris: ['wiki://home', 'shared://logo', 'mcp-gateway://hr/file:///handbook.md'], templates: ['wiki://pages/{name}'] },
  { server: 'docs', unprefixed: true, uris: [], templates: ['wiki://pages/{name}', 'docs://{topic}'] },
]);

describe('ResourceMap', () => {
  it('prefixes every server but unprefixed ones, whose URIs stay bare unless another server claims them or they use the gateway scheme', () => {
    expect(map.gatewayUri('hr', 'file:///handbook.md')).toBe('mcp-gateway://hr/file:///handbook.md');
    expect(map.gatewayUri('wiki', 'wiki://home')).toBe('wiki://home');
    expect(map.gatewayUri('wiki', 'shared://logo')).toBe('mcp-gateway://wiki/shared://logo');
    expect(map.gatewayUri('hr', 'shared://logo')).toBe('mcp-gateway://hr/shared://logo');
    expect(map.gatewayUri('wiki', 'mcp-gateway://hr/file:///handbook.md')).toBe('mcp-gateway://wiki/mcp-gateway://hr/file:///handbook.md');
    expect(map.gatewayTemplate('docs', 'docs://{topic}')).toBe('docs://{topic}');
    expect(map.gatewayTemplate('docs', 'wiki://pages/{name}')).toBe('mcp-gateway://docs/wiki://pages/{name}');
  });

  it('maps listed URIs back exactly, and templated ones through the template that matches', () => {
    expect(map.resolve('mcp-gateway://hr/file:///handbook.md')).toEqual({ server: 'hr', uri: 'file:///handbook.md' });
    expect(map.resolve('mcp-gateway://wiki/mcp-gateway://hr/file:///handbook.md')).toEqual({ server: 'wiki', uri: 'mcp-gateway://hr/file:///handbook.md' });
    expect(map.resolve('mcp-gateway://hr/hr://employees/E%201')).toEqual({ server: 'hr', uri: 'hr://employees/E%201', template: 'hr://employees/{id}' });
    expect(map.resolve('mcp-gateway://hr/file:///a/b.txt')).toEqual({ server: 'hr', uri: 'file:///a/b.txt', template: 'file:///{+path}' });
    expect(map.resolve('docs://intro')).toEqual({ server: 'docs', uri: 'docs://intro', template: 'docs://{topic}' });
    expect(map.resolveTemplate('mcp-gateway://docs/wiki://pages/{name}')).toEqual({ server: 'docs', template: 'wiki://pages/{name}' });
  });

  it('knows nothing it was not given: unlisted URIs, bare forms of prefixed URIs, other servers’ prefixes', () => {
    expect(map.resolve('file:///handbook.md')).toBeUndefined();
    expect(map.resolve('shared://logo')).toBeUndefined();
    expect(map.resolve('mcp-gateway://wiki/file:///handbook.md')).toBeUndefined();
    expect(map.resolve('mcp-gateway://nowhere/x')).toBeUndefined();
    expect(map.gatewayUri('wiki', 'wiki://unlisted')).toBeUndefined();
  });

  it('rewrites a URI a server’s template covers into the gateway template’s expansion, which maps back', () => {
    const uri = map.gatewayUri('hr', 'hr://employees/E%201');
    expect(uri).toBe('mcp-gateway://hr/hr://employees/E%201');
    expect(map.resolve(uri ?? '')).toMatchObject({ server: 'hr', uri: 'hr://employees/E%201' });
  });
});

describe('page()', () => {
  const items = ['d', 'a', 'c', 'b', 'e'];
  const key = (item: string): string => item;

  it('serves the aggregate in key order, a page at a time, until no cursor is left', () => {
    const first = page(items, key, undefined, 2);
    expect(first.items).toEqual(['a', 'b']);
    const second = page(items, key, first.nextCursor, 2);
    expect(second.items).toEqual(['c', 'd']);
    const third = page(items, key, second.nextCursor, 2);
    expect(third).toEqual({ items: ['e'] });
    expect(page(items, key, undefined, 5)).toEqual({ items: ['a', 'b', 'c', 'd', 'e'] });
  });

  it('keeps its place when items come and go between pages', () => {
    const first = page(items, key, undefined, 2);
    expect(page(['a', 'c', 'f'], key, first.nextCursor, 2).items).toEqual(['c', 'f']);
  });

  it('refuses a cursor it did not make as invalid params', () => {
    for (const cursor of ['', 'nope', Buffer.from('before:x').toString('base64url'), `${Buffer.from('after:x').toString('base64url')}=`]) {
      expect(() => page(items, key, cursor, 2), cursor).toThrow(expect.objectContaining({ code: -32602 }));
    }
  });
});
