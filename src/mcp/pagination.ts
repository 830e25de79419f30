/**
 * Pagination over an aggregated list (`resources/list`, `resources/templates/list`, `prompts/list`).
 * Items are ordered by their key (gateway URI, template or qualified name); the cursor names the last
 * key served, so a page boundary holds even when the catalogue changes between pages. A cursor the
 * gateway did not make is invalid params (-32602), as the spec asks.
 */
import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server';

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor?: string;
}

const PREFIX = 'after:';

function decodeCursor(cursor: string): string {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!text.startsWith(PREFIX) || Buffer.from(text, 'utf8').toString('base64url') !== cursor) throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'Invalid cursor');
  return text.slice(PREFIX.length);
}

export function page<T>(items: readonly T[], keyOf: (item: T) => string, cursor: string | undefined, pageSize: number): Page<T> {
  const sorted = [...items].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
  const after = cursor === undefined ? undefined : decodeCursor(cursor);
  const rest = after === undefined ? sorted : sorted.filter((item) => keyOf(item) > after);
  const served = rest.slice(0, pageSize);
  const last = served.at(-1);
  if (rest.length <= pageSize || last === undefined) return { items: served };
  return { items: served, nextCursor: Buffer.from(`${PREFIX}${keyOf(last)}`, 'utf8').toString('base64url') };
}
