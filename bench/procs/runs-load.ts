/**
 * Client child for the run benchmarks: starts `runs` agent runs with POST /api/query, `concurrency`
 * at a time, reads each to its `done` event and times its first `event: run` frame. Connections are
 * kept alive (one per concurrent run), so the figures are the gateway's, not TCP set-up's.
 */
import { Agent, request } from 'node:http';
import { serveRequests } from '../lib/child.js';
import { latencyHistogram, recordMs, summarize, type LatencySummary } from '../lib/stats.js';

export interface RunsLoadRequest {
  url: string;
  token: string;
  query: string;
  runs: number;
  concurrency: number;
}

export interface RunsLoadResult {
  completed: number;
  failed: number;
  /** The first few failures, for diagnosis. */
  failures: string[];
  seconds: number;
  runsPerSecond: number;
  firstEvent: LatencySummary;
}

function oneRun(agent: Agent, target: URL, token: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(target, {
      method: 'POST',
      agent,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'text/event-stream', 'content-length': Buffer.byteLength(body) },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return reject(new Error(`POST /api/query answered ${res.statusCode}`));
      }
      let tail = '';
      let firstEventMs: number | undefined;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        // Only the last few bytes matter for spotting a frame split across chunks.
        const text = tail + chunk;
        firstEventMs ??= text.includes('event: run\n') ? performance.now() - started : undefined;
        if (text.includes('event: done\n')) {
          if (firstEventMs === undefined) reject(new Error('the run ended without a run event'));
          else resolve(firstEventMs);
        }
        tail = text.slice(-32);
      });
      res.on('end', () => reject(new Error('the stream ended before the done event')));
    });
    req.end(body);
  });
}

async function load(input: RunsLoadRequest): Promise<RunsLoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: input.concurrency });
  const target = new URL('/api/query', input.url);
  const body = JSON.stringify({ query: input.query });
  const firstEvent = latencyHistogram();
  const failures: string[] = [];
  let next = 0;
  let completed = 0;
  let failed = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < input.runs) {
      next += 1;
      try {
        recordMs(firstEvent, await oneRun(agent, target, input.token, body));
        completed += 1;
      } catch (error) {
        failed += 1;
        if (failures.length < 5) failures.push(error instanceof Error ? error.message : String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(input.concurrency, input.runs) }, worker));
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return { completed, failed, failures, seconds, runsPerSecond: completed / seconds, firstEvent: summarize(firstEvent) };
}

serveRequests((body) => load(body as RunsLoadRequest));
