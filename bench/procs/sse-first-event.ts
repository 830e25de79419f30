/**
 * Client child for the first-event benchmark: starts runs one after another with POST /api/query
 * and times, per run, the response headers and the first `event: run` frame; each run is read to
 * its `done` event before the next starts, so runs never overlap.
 */
import { request } from 'node:http';
import { serveRequests } from '../lib/child.js';
import { latencyHistogram, recordMs, summarize, type LatencySummary } from '../lib/stats.js';

export interface FirstEventRequest {
  url: string;
  token: string;
  query: string;
  warmupRuns: number;
  runs: number;
}

export interface FirstEventResult {
  headers: LatencySummary;
  firstEvent: LatencySummary;
  completedRuns: number;
}

interface Timing {
  headersMs: number;
  firstEventMs: number;
}

/** One run: resolves once its `done` frame arrived, with the two timings. */
function oneRun(target: URL, token: string, body: string): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(target, {
      method: 'POST',
      agent: false,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'text/event-stream', 'content-length': Buffer.byteLength(body) },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const headersMs = performance.now() - started;
      if (res.statusCode !== 200) {
        res.resume();
        return reject(new Error(`POST /api/query answered ${res.statusCode}`));
      }
      let text = '';
      let firstEventMs: number | undefined;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        firstEventMs ??= text.includes('event: run\n') ? performance.now() - started : undefined;
        if (text.includes('event: done\n')) {
          res.destroy();
          if (firstEventMs === undefined) reject(new Error('the run ended without a run event'));
          else resolve({ headersMs, firstEventMs });
        }
      });
      res.on('end', () => reject(new Error('the stream ended before the done event')));
    });
    req.end(body);
  });
}

async function measure(input: FirstEventRequest): Promise<FirstEventResult> {
  const target = new URL('/api/query', input.url);
  const body = JSON.stringify({ query: input.query });
  const headers = latencyHistogram();
  const firstEvent = latencyHistogram();
  for (let i = 0; i < input.warmupRuns; i++) await oneRun(target, input.token, body);
  for (let i = 0; i < input.runs; i++) {
    const timing = await oneRun(target, input.token, body);
    recordMs(headers, timing.headersMs);
    recordMs(firstEvent, timing.firstEventMs);
  }
  return { headers: summarize(headers), firstEvent: summarize(firstEvent), completedRuns: input.runs };
}

serveRequests((body) => measure(body as FirstEventRequest));
