/**
 * 1,000 runs started and abandoned in a loop (issue 5) leave nothing behind: no supervised run, no
 * open stream, no store listener, no timer. Heap growth is measured in bench/, not asserted here.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { MemoryStore } from '../../src/store/memory-store.js';
import { startGateway, startTestStack, testConfig, waitFor, type RunningGateway, type TestStack } from '../helpers/stack.js';
import { collectRun } from '../helpers/sse.js';
import { startRun } from './runs-support.js';

const RUNS = 1_000;
const CONCURRENCY = 8;
/** Timers that may legitimately come and go meanwhile (keep-alive sockets, JWKS cache, sweepers). */
const TIMER_SLACK = 10;

let stack: TestStack;
let gw: RunningGateway;
let bob: string;

beforeAll(async () => {
  // The model never gets to answer: every run is cancelled while its model request is in flight.
  stack = await startTestStack({ firstTokenMs: 60_000 });
  const generous = { queriesPerHour: 100_000, requestsPerMinute: 100_000, tokensPerDay: 100_000_000 };
  gw = await startGateway(
    testConfig(stack, {
      runs: { detachGraceMs: 0 },
      limits: { tiers: [{ name: 'default', roles: [], ...generous }] },
    }),
  );
  bob = await stack.issuer.tokenFor('bob.martinez');
});

afterAll(async () => {
  await gw?.close();
  await stack?.close();
});

const timers = (): number => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
const handlers = (): number => (gw.gateway.store as MemoryStore).handlerCount;

async function abandonRuns(count: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next += 1;
      const connection = await startRun(gw.url, bob, { query: 'Analyze revenue: list the invoices' });
      expect(connection.status).toBe(200);
      const [first] = await collectRun(connection, () => true);
      expect(first?.event).toBe('run');
      connection.abort();
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

async function settled(): Promise<void> {
  await waitFor(() => gw.gateway.runs.activeCount === 0 && gw.gateway.sse.size === 0 && stack.model.stats.active === 0, {
    timeoutMs: 15_000,
    what: 'every run, stream and model request to end',
  });
}

it(`${RUNS} runs started and aborted leave no runs, streams, listeners or timers behind`, { timeout: 120_000 }, async () => {
  await abandonRuns(20);
  await settled();
  const baseline = { handlers: handlers(), timers: timers(), aborted: stack.model.stats.aborted };

  await abandonRuns(RUNS);
  await settled();

  expect(gw.gateway.runs.activeCount).toBe(0);
  expect(gw.gateway.sse.size).toBe(0);
  // The runs were cancelled with their model requests in flight, and those were aborted.
  expect(stack.model.stats.aborted - baseline.aborted).toBeGreaterThan(RUNS / 2);
  expect(stack.model.stats.active).toBe(0);
  await waitFor(() => handlers() === baseline.handlers, { what: `store handlers back to ${baseline.handlers} (now ${handlers()})` });
  await waitFor(() => timers() <= baseline.timers + TIMER_SLACK, { what: `timers back near ${baseline.timers} (now ${timers()})` });
});
