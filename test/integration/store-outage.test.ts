/**
 * A Redis outage as clients see it (issue 8, items 1, 2 and 9): every request the store cannot serve
 * is a retryable 503 GATEWAY_9002 with Retry-After (never a 500); a run in flight keeps going on its
 * replica, its reader there gets every event live, and after the store is back the log holds each
 * event once, in order, so a reader on another replica and a later resume see all of it. A record
 * that does not parse is absent (404), not a 500.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateRedis, uniquePrefix } from '../helpers/redis.js';
import { api, startGateway, startTestStack, testConfig, waitFor, type RunningGateway, type TestStack } from '../helpers/stack.js';
import { collectRun } from '../helpers/sse.js';
import { expectStrictlyIncreasing, readRun, runIdOf, runLog, startRun } from './runs-support.js';

let stack: TestStack;
let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
let a: RunningGateway;
let b: RunningGateway;
let keyPrefix: string;
let alice: string;
let bob: string;

beforeAll(async () => {
  // A model slow enough that a run is still streaming while Redis is away.
  stack = await startTestStack({ firstTokenMs: 200, tokenDelayMs: 40 });
  redis = await startPrivateRedis({ appendonly: true });
  keyPrefix = uniquePrefix('store-outage');
  const store = { driver: 'redis' as const, url: redis.url, keyPrefix, connectTimeoutMs: 2_000 };
  [a, b] = await Promise.all([startGateway(testConfig(stack, { store })), startGateway(testConfig(stack, { store }))]);
  [alice, bob] = await Promise.all([stack.issuer.tokenFor('alice.chen'), stack.issuer.tokenFor('bob.martinez')]);
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await redis?.stop();
  await stack?.close();
});

async function storeDown(gateway: RunningGateway): Promise<void> {
  await waitFor(async () => !(await gateway.gateway.store.health()).ok, { timeoutMs: 10_000, what: 'the store to be down' });
}

async function storeUp(gateway: RunningGateway): Promise<void> {
  await waitFor(async () => (await gateway.gateway.store.health()).ok, { timeoutMs: 15_000, what: 'the store to be back' });
}

describe('while Redis is down', () => {
  it('every route that needs the store answers 503 GATEWAY_9002 with Retry-After, none 500', async () => {
    // A confirmation to decide during the outage, made while the store is up.
    const pending = await api(`${a.url}/api/tools/hr/delete_employee`, { token: alice, body: { arguments: { employeeId: 'E-1042' } } });
    expect(pending.status).toBe(202);
    const confirmationId = pending.body.confirmation.id as string;

    await redis.kill();
    await storeDown(a);
    try {
      const answers = await Promise.all([
        api(`${a.url}/api/query`, { token: bob, body: { query: 'list the invoices' } }),
        api(`${a.url}/api/runs/${crypto.randomUUID()}/events`, { token: bob }),
        api(`${b.url}/api/confirmations/${confirmationId}`, { token: alice }),
        api(`${b.url}/api/confirmations/${confirmationId}`, { token: alice, body: { decision: 'approve' } }),
        api(`${a.url}/api/tools/hr/delete_employee`, { token: alice, body: { arguments: { employeeId: 'E-1043' } } }),
        api(`${a.url}/api/runs/${crypto.randomUUID()}`, { method: 'DELETE', token: bob }),
      ]);
      for (const answer of answers) {
        expect(answer.status).toBe(503);
        expect(answer.body.error).toMatchObject({ code: 'GATEWAY_9002', retryable: true });
        expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
      }
    } finally {
      await redis.restart();
      await Promise.all([storeUp(a), storeUp(b)]);
    }
    // The AOF kept the pending confirmation: it is decided once, after the outage.
    const decided = await api(`${b.url}/api/confirmations/${confirmationId}`, { token: alice, body: { decision: 'reject' } });
    expect(decided.status).toBe(200);
  });

  it('a run in flight goes on: its reader gets every event, and the log has each once, in order, after recovery', async () => {
    const connection = await startRun(a.url, bob, { query: 'Analyze revenue: list the invoices' });
    const first = await collectRun(connection, (frame) => frame.event === 'text');
    const runId = runIdOf(first);
    // A reader on the other replica, attached before the outage.
    const remote = await readRun(b.url, bob, runId);
    await redis.kill();
    const rest = await collectRun(connection);
    const frames = [...first, ...rest];
    expect(frames.at(-1)).toMatchObject({ event: 'done', data: { status: 'completed' } });
    expectStrictlyIncreasing(frames);
    await redis.restart();
    await storeUp(a);

    const remoteFrames = await collectRun(remote);
    const log = await waitForLog(runId, frames.length);
    expect(log.map((event) => [event.id, event.type])).toEqual(frames.map((frame) => [frame.id, frame.event]));
    // The remote reader either saw the whole run or ended with a retryable error it can resume from.
    const last = remoteFrames.at(-1);
    if (last?.event === 'done') expect(remoteFrames.map((frame) => frame.id)).toEqual(frames.map((frame) => frame.id));
    else expect(last).toMatchObject({ event: 'error', data: { code: 'GATEWAY_9002', retryable: true } });
    const seen = remoteFrames.filter((frame) => frame.id !== undefined);
    const resumed = await collectRun(await readRun(b.url, bob, runId, seen.at(-1)?.id ?? '0'));
    const union = [...seen, ...resumed];
    expect(union.map((frame) => frame.id)).toEqual(frames.map((frame) => frame.id));
    await waitFor(() => a.gateway.runs.activeCount === 0, { what: 'the run to be released' });
  });
});

async function waitForLog(runId: string, length: number) {
  await waitFor(async () => (await runLog(a.gateway, runId)).length >= length, { timeoutMs: 15_000, what: 'the log to be written out' });
  return runLog(a.gateway, runId);
}

describe('records that do not parse', () => {
  it('are absent: a run or confirmation that is not a valid record answers 404, not 500', async () => {
    const raw = new Redis(redis.url, { keyPrefix });
    try {
      const runId = crypto.randomUUID();
      const confirmationId = crypto.randomUUID();
      await raw.set(`run:${runId}`, '{"id": 42, "garbage": true}', 'PX', 60_000);
      await raw.set(`confirm:${confirmationId}`, 'not json at all', 'PX', 60_000);
      const run = await api(`${a.url}/api/runs/${runId}/events`, { token: bob });
      expect(run.status).toBe(404);
      expect(run.body.error.code).toBe('RUN_6001');
      const confirmation = await api(`${a.url}/api/confirmations/${confirmationId}`, { token: bob });
      expect(confirmation.status).toBe(404);
      expect(confirmation.body.error.code).toBe('CONFIRM_5001');
    } finally {
      raw.disconnect();
    }
  });
});
