/**
 * Client child for the idle-streams benchmark: opens many `GET /api/runs/:id/events` streams (one
 * socket each) and holds them open without reading further, until told to close them.
 */
import { request, type ClientRequest } from 'node:http';
import { serveRequests } from '../lib/child.js';

export type StreamsRequest =
  | { kind: 'open'; url: string; token: string; runId: string; lastEventId: string; count: number; concurrency: number }
  | { kind: 'status' }
  | { kind: 'close' };

export interface OpenResult {
  opened: number;
  failed: number;
  /** A few distinct failure messages, for the report. */
  failures: string[];
  seconds: number;
}

const open = new Set<ClientRequest>();
let dropped = 0;

/** Resolves once the stream answered 200 and sent its first bytes (the retry hint). */
function openStream(target: URL, token: string, lastEventId: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(target, { agent: false, headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', 'last-event-id': lastEventId } });
    req.on('error', reject);
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return reject(new Error(`answered ${res.statusCode}`));
      }
      open.add(req);
      res.once('data', () => resolve());
      res.on('data', () => undefined);
      res.on('close', () => {
        if (open.delete(req)) dropped += 1;
      });
    });
    req.end();
  });
}

async function openMany(message: Extract<StreamsRequest, { kind: 'open' }>): Promise<OpenResult> {
  const target = new URL(`/api/runs/${message.runId}/events`, message.url);
  const started = performance.now();
  const failures = new Set<string>();
  let next = 0;
  let failed = 0;
  const worker = async (): Promise<void> => {
    while (next < message.count) {
      next += 1;
      await openStream(target, message.token, message.lastEventId).catch((error: unknown) => {
        failed += 1;
        failures.add(error instanceof Error ? error.message : String(error));
      });
    }
  };
  await Promise.all(Array.from({ length: message.concurrency }, worker));
  return { opened: open.size, failed, failures: [...failures].slice(0, 5), seconds: (performance.now() - started) / 1000 };
}

serveRequests(async (body) => {
  const message = body as StreamsRequest;
  switch (message.kind) {
    case 'open':
      return openMany(message);
    case 'status':
      return { open: open.size, dropped };
    case 'close': {
      const count = open.size;
      for (const req of open) req.destroy();
      open.clear();
      return count;
    }
  }
});
