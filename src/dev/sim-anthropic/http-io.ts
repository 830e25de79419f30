/** Reading request bodies and writing JSON, errors and server-sent events on node:http. */
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorBody, type ApiErrorType } from './errors.js';
import type { StreamEvent } from './response.js';

/** The real API's request size limit. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;

export class BodyTooLargeError extends Error {}

export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new BodyTooLargeError(`request body exceeds ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}

export function sendError(
  res: ServerResponse,
  status: number,
  type: ApiErrorType,
  message: string,
  retryAfterSec?: number,
): void {
  const requestId = String(res.getHeader('request-id'));
  const headers: Record<string, string> = retryAfterSec === undefined ? {} : { 'retry-after': String(retryAfterSec) };
  sendJson(res, status, errorBody(type, message, requestId), headers);
}

export interface Timing {
  readonly firstTokenMs: number;
  readonly tokenDelayMs: number;
}

/** Aborts (and clears its timer) as soon as `signal` does. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return ms > 0 ? sleep(ms, undefined, { signal }) : Promise.resolve();
}

/** How long generating the content takes: the first delta's wait, then one wait per further delta. */
export function generationMs(events: readonly StreamEvent[], timing: Timing): number {
  const deltas = events.filter((event) => event.type === 'content_block_delta').length;
  return deltas === 0 ? 0 : timing.firstTokenMs + (deltas - 1) * timing.tokenDelayMs;
}

/** Answers with JSON after the time the reply would have taken to generate. */
export async function sendJsonAfter(res: ServerResponse, ms: number, body: unknown, signal: AbortSignal): Promise<void> {
  await pause(ms, signal);
  sendJson(res, 200, body);
}

/** Streams `events` as SSE, pacing content deltas; rejects with the abort reason if the client goes. */
export async function sendEvents(
  res: ServerResponse,
  events: readonly StreamEvent[],
  timing: Timing,
  signal: AbortSignal,
): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  res.flushHeaders();
  let deltasSent = 0;
  for (const event of events) {
    if (event.type === 'content_block_delta') {
      await pause(deltasSent === 0 ? timing.firstTokenMs : timing.tokenDelayMs, signal);
      deltasSent += 1;
    }
    signal.throwIfAborted();
    if (!res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`)) {
      await once(res, 'drain', { signal });
    }
  }
  res.end();
}
