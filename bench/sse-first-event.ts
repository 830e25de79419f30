/**
 * Target 2: SSE first event < 20 ms after the request (POST /api/query → first `event: run` frame).
 * The gateway runs here; a client child starts runs one at a time and reads each to its end.
 */
import { Child } from './lib/child.js';
import { runBenchmarks, runIfEntry } from './lib/main.js';
import { progress, sized, type BenchResult, type Benchmark } from './lib/report.js';
import { benchConfig, startBenchStack, startGateway, waitUntilReady } from './lib/stack.js';
import type { FirstEventRequest, FirstEventResult } from './procs/sse-first-event.js';

const WARMUP_RUNS = sized(50, 10);
const RUNS = sized(500, 50);
const TARGET_MS = 20;

async function run(): Promise<BenchResult> {
  // The model answers at once: this measures the gateway's path to the first frame, not the model.
  const stack = await startBenchStack({ firstTokenMs: 0, tokenDelayMs: 0 });
  const { gateway, url } = await startGateway(benchConfig(stack.endpoints));
  const client = Child.start(new URL('./procs/sse-first-event.ts', import.meta.url));
  try {
    await waitUntilReady(url);
    const token = await stack.issuer.tokenFor('alice.chen');
    const request: FirstEventRequest = { url, token, query: 'list employees in Engineering', warmupRuns: WARMUP_RUNS, runs: RUNS };
    const result = await client.request<FirstEventResult>(request);
    progress(`first event: p50 ${result.firstEvent.p50Ms} ms, p99 ${result.firstEvent.p99Ms} ms, max ${result.firstEvent.maxMs} ms`);
    return {
      name: 'sse-first-event',
      target: `POST /api/query → first \`event: run\` frame < ${TARGET_MS} ms`,
      measured: `p50 ${result.firstEvent.p50Ms} ms, p99 ${result.firstEvent.p99Ms} ms (max ${result.firstEvent.maxMs} ms) over ${RUNS} runs`,
      met: result.firstEvent.p99Ms < TARGET_MS,
      details: {
        method: `client child, ${RUNS} sequential runs after ${WARMUP_RUNS} warm-up runs, each read to done; memory store; simulated model without delays`,
        firstEvent: result.firstEvent,
        responseHeaders: result.headers,
      },
    };
  } finally {
    await client.stop();
    await gateway.close();
    await stack.close();
  }
}

export const sseFirstEvent: Benchmark = { name: 'sse-first-event', description: 'time from POST /api/query to the first run frame', run };

runIfEntry(import.meta.url, () => runBenchmarks([sseFirstEvent]));
