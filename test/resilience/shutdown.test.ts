/**
 * SIGTERM with live streams (issue 8, item 8; review GAP-003): every stream served by the draining
 * replica that does not end with its run ends with a `reconnect` event naming the run and the last
 * event id; resuming on the other replica with that id misses and repeats nothing; the process exits 0.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateRedis, uniquePrefix } from '../helpers/redis.js';
import { api, startTestStack, testConfig, type TestStack } from '../helpers/stack.js';
import { collectRun, openSse, type SseConnection, type SseFrame } from '../helpers/sse.js';
import { startReplica, type Replica } from './replica.js';

let stack: TestStack;
let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
let leaving: Replica;
let staying: Replica;

beforeAll(async () => {
  stack = await startTestStack({ firstTokenMs: 300, tokenDelayMs: 120 });
  redis = await startPrivateRedis();
  const config = testConfig(stack, { store: { driver: 'redis', url: redis.url, keyPrefix: uniquePrefix('resilience-term'), connectTimeoutMs: 2_000 }, shutdown: { graceMs: 3_000 } });
  [leaving, staying] = await Promise.all([startReplica(config), startReplica(config)]);
});

afterAll(async () => {
  await Promise.all([leaving?.stop(), staying?.stop()]);
  await redis?.stop();
  await stack?.close();
});

const ids = (frames: SseFrame[]): string[] => frames.flatMap((frame) => (frame.id === undefined ? [] : [frame.id]));

describe('SIGTERM with live streams', () => {
  it('every stream ends with reconnect, and resuming on the other replica misses and repeats nothing', async () => {
    const [alice, bob] = await Promise.all([stack.issuer.tokenFor('alice.chen'), stack.issuer.tokenFor('bob.martinez')]);
    const streams: Array<{ token: string; runId: string; connection: SseConnection; seen: SseFrame[]; paused: boolean }> = [];
    // Runs paused for a confirmation on the leaving replica.
    for (let index = 0; index < 4; index += 1) {
      const connection = await openSse(`${leaving.url}/api/query`, { token: alice, body: { query: `delete employee E-${3000 + index}` } });
      const seen = await collectRun(connection, (frame) => frame.event === 'confirmation_required');
      streams.push({ token: alice, runId: seen[0]!.data.runId as string, connection, seen, paused: true });
    }
    // Runs driven by the staying replica, read through the leaving one.
    for (let index = 0; index < 4; index += 1) {
      const started = await openSse(`${staying.url}/api/query`, { token: bob, body: { query: 'Analyze revenue: list the invoices' } });
      const [run] = await collectRun(started, (frame) => frame.event === 'run');
      started.abort();
      const runId = run!.data.runId as string;
      const connection = await openSse(`${leaving.url}/api/runs/${runId}/events`, { token: bob });
      const seen = await collectRun(connection, (frame) => frame.event === 'run');
      streams.push({ token: bob, runId, connection, seen, paused: false });
    }

    const exit = leaving.terminate();
    const endings = await Promise.all(streams.map(async (stream) => [...stream.seen, ...(await collectRun(stream.connection))]));
    expect(await exit).toBe(0);

    let resumedEvents = 0;
    for (const [index, frames] of endings.entries()) {
      const stream = streams[index]!;
      const last = frames.at(-1)!;
      // A run that finished during the drain ends with done; every other stream is told to reconnect.
      if (last.event === 'done') continue;
      expect(last).toMatchObject({ event: 'reconnect', data: { runId: stream.runId, reason: 'shutdown' } });
      expect(last.data.lastEventId).toBe(ids(frames).at(-1));
      if (stream.paused) {
        const confirmationId = frames.find((frame) => frame.event === 'confirmation_required')!.data.confirmationId as string;
        const decided = await api(`${staying.url}/api/confirmations/${confirmationId}`, { token: stream.token, body: { decision: 'reject' } });
        expect(decided.status).toBe(200);
      }
      const resumed = await collectRun(await openSse(`${staying.url}/api/runs/${stream.runId}/events`, { token: stream.token, headers: { 'last-event-id': last.data.lastEventId as string } }));
      resumedEvents += resumed.length;
      expect(resumed.at(-1)?.event).toBe('done');
      const whole = await collectRun(await openSse(`${staying.url}/api/runs/${stream.runId}/events`, { token: stream.token }));
      expect([...ids(frames), ...ids(resumed)]).toEqual(ids(whole));
    }
    expect(resumedEvents).toBeGreaterThan(0);
    console.log(`resilience figures ${JSON.stringify({ scenario: 'sigterm', streams: streams.length, reconnect: endings.filter((frames) => frames.at(-1)?.event === 'reconnect').length, done: endings.filter((frames) => frames.at(-1)?.event === 'done').length, resumedEvents })}`);
  });
});
