/**
 * Cursor pagination shared by every list tool. Keyset, not offset: a cursor names the last row
 * returned, so rows deleted between two pages never make the caller skip or repeat others.
 */
import { z } from 'zod';
import { ToolFailure } from './tool-failure.js';

export const pageInput = {
  cursor: z.string().min(1).optional().describe('Opaque cursor from the previous page\'s `nextCursor`; omit it for the first page.'),
  limit: z.number().int().min(1).max(100).default(20).describe('Maximum number of items to return (1-100, default 20).'),
};

export const nextCursorOutput = z
  .string()
  .optional()
  .describe('Pass as `cursor` to get the next page; absent on the last page.');

const cursorPayload = z.object({ after: z.string() });

function encodeCursor(after: string): string {
  return Buffer.from(JSON.stringify({ after }), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  try {
    return cursorPayload.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))).after;
  } catch {
    throw new ToolFailure('Invalid cursor: pass back the `nextCursor` of a previous page unchanged.');
  }
}

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

/** One page of `rows`, which must be sorted by their unique `id`. */
export function paginate<T extends { id: string }>(rows: readonly T[], cursor: string | undefined, limit: number): Page<T> {
  const after = cursor === undefined ? undefined : decodeCursor(cursor);
  const start = after === undefined ? 0 : rows.findIndex((row) => row.id > after);
  if (start < 0) return { items: [] };
  const items = rows.slice(start, start + limit);
  const last = items.at(-1);
  return start + limit < rows.length && last !== undefined ? { items, nextCursor: encodeCursor(last.id) } : { items };
}
