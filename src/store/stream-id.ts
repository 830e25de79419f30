/**
 * Stream ids in the Redis format `<ms>-<seq>`, for the in-memory store (Redis assigns its own).
 * Both parts stay far below 2^53 in practice (ms since the epoch, entries per millisecond).
 */
export interface StreamId {
  readonly ms: number;
  readonly seq: number;
}

const ID_PATTERN = /^(\d+)(?:-(\d+))?$/;

/** Parses `<ms>-<seq>` or `<ms>` (sequence 0), rejecting anything else like Redis does. */
export function parseStreamId(id: string): StreamId {
  const match = ID_PATTERN.exec(id);
  if (match === null) throw new Error(`Invalid stream ID: ${JSON.stringify(id)}`);
  return { ms: Number(match[1]), seq: Number(match[2] ?? '0') };
}

export function compareStreamIds(a: StreamId, b: StreamId): number {
  return a.ms - b.ms || a.seq - b.seq;
}

/** The id after `last` at time `nowMs`: a new millisecond restarts the sequence, a stalled or stepped-back clock continues it. */
export function nextStreamId(last: StreamId, nowMs: number): StreamId {
  return nowMs > last.ms ? { ms: nowMs, seq: 0 } : { ms: last.ms, seq: last.seq + 1 };
}

export function formatStreamId(id: StreamId): string {
  return `${id.ms}-${id.seq}`;
}
