/**
 * What a run costs the store (issue 13): text deltas written in batches without delaying the run's
 * first event or losing a reader that resumes mid-batch, finished runs kept compact and capped on the
 * memory store (oldest evicted first, counted), conversations capped likewise (least recently updated
 * first), and idle readers that send Redis no reads: counted
 * in Redis' own command statistics over an idle window, never timed.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Metrics } from '../../src/ops/metrics.js';
import { Conversations } from '../../src/runs/conversations.js';
import type { LoggedRunEvent, RunEvent } from '../../src/runs/events.js';
import { RunJournal } from '../../src/runs/run-journal.js';
import { RunStore, type RunState } from '../../src/runs/run-store.js';
import { silentLogger } from '../../src/store/logger.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { KEYS } from '../../src/store/records.js';
import { RedisStore } from '../../src/store/redis-store.js';
import type { Store } from '../../src/store/types.js';
import { startPrivateRedis, uniquePrefix, type PrivateRedis } from '../helpers/redis.js';
import { api, redisStore, startGateway, startTestStack, testConfig, waitFor, type RunningGateway, type TestStack } from '../helpers/stack.js';
import { collectRun, openSse, type SseConnection, type SseFrame } from '../helpers/sse.js';
import { metricValue, readRun, runIdOf, startRun } from './runs-support.js';

/** Long enough that only a non-delta event (or close) writes the held deltas: nothing here waits for it. */
const HOLD_MS = 600_000;

const text = (delta: string): RunEvent => ({ type: 'text', data: { delta } });
const runEvent = (runId: string): RunEvent => ({ type: 'run', data: { runId, conversationId: 'c', servers: [], unavailable: [] } });
const done: RunEvent = { type: 'done', data: { status: 'completed', stopReason: 'end_turn' } };

function journalOn(runs: RunStore, runId: string, batchMs: number): RunJournal {
  return new RunJournal(runId, undefined, runs, { bufferEvents: 2_000, maxOutageMs: 15_000, batchMs }, new Metrics(), silentLogger);
}

async function collect(iterable: AsyncIterable<LoggedRunEvent>, until: (event: LoggedRunEvent) => boolean): Promise<LoggedRunEvent[]> {
  const seen: LoggedRunEvent[] = [];
  for await (const event of iterable) {
    seen.push(event);
    if (until(event)) break;
  }
  return seen;
}

/** Calls of one Redis command since the server started (INFO commandstats). */
async function commandCalls(client: Redis, command: string): Promise<number> {
  const info = await client.info('commandstats');
  const match = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info);
  return match === null ? 0 : Number(match[1]);
}

describe('run log batching', () => {
  let redis: PrivateRedis;
  const stores: Store[] = [];

  beforeAll(async () => {
    redis = await startPrivateRedis();
  });
  afterAll(async () => {
    await Promise.all(stores.map((store) => store.close()));
    await redis?.stop();
  });

  async function openRedis(prefix: string): Promise<RedisStore> {
    const store = new RedisStore({ driver: 'redis', url: redis.url, keyPrefix: prefix, connectTimeoutMs: 2_000 });
    stores.push(store);
    if (!(await store.waitUntilReady(10_000))) throw new Error('private Redis not ready');
    return store;
  }

  /** A writer's store and a reader's (another replica on Redis; the same store in memory). */
  const flavours: Array<{ name: string; open: () => Promise<{ writer: Store; reader: Store }> }> = [
    {
      name: 'memory',
      open: async () => {
        const store = new MemoryStore();
        stores.push(store);
        return { writer: store, reader: store };
      },
    },
    {
      name: 'redis',
      open: async () => {
        const prefix = uniquePrefix('runs-batch');
        return { writer: await openRedis(prefix), reader: await openRedis(prefix) };
      },
    },
  ];

  describe.each(flavours)('$name', (flavour) => {
    it('writes the first event at once, holds text deltas for one round trip, keeps their order and ids', async () => {
      const { writer, reader } = await flavour.open();
      const appends = vi.spyOn(writer, 'appendMany');
      const runs = new RunStore(writer, 60_000);
      const journal = journalOn(runs, 'run-batch', HOLD_MS);

      const first = await journal.emit(runEvent('run-batch'));
      // Written before emit resolved: a reader anywhere sees the run at once.
      expect((await new RunStore(reader, 60_000).events('run-batch')).map((event) => event.id)).toEqual([first]);
      expect(appends).toHaveBeenCalledTimes(1);

      const ids: string[] = [];
      for (let i = 0; i < 20; i += 1) ids.push(await journal.emit(text(`d${i}`)));
      // Readers here have every delta already; the store has none of them yet.
      const live = await collect(journal.follow(first, AbortSignal.timeout(10_000)), (event) => event.id === ids.at(-1));
      expect(live.map((event) => event.id)).toEqual(ids);
      expect(await new RunStore(reader, 60_000).events('run-batch')).toHaveLength(1);

      const last = await journal.emit(done);
      const logged = await new RunStore(reader, 60_000).events('run-batch');
      expect(logged.map((event) => event.id)).toEqual([first, ...ids, last]);
      expect(logged.slice(1, -1).map((event) => (event.type === 'text' ? event.data.delta : ''))).toEqual(ids.map((_, i) => `d${i}`));
      // Twenty deltas and the done: one more round trip.
      expect(appends).toHaveBeenCalledTimes(2);
    });

    it('a reader resuming mid-batch, before the batch reached the store, gets everything after its id', async () => {
      const { writer, reader } = await flavour.open();
      const runs = new RunStore(writer, 60_000);
      const journal = journalOn(runs, 'run-resume', HOLD_MS);
      await journal.emit(runEvent('run-resume'));
      const ids: string[] = [];
      for (let i = 0; i < 30; i += 1) ids.push(await journal.emit(text(`d${i}`)));

      // The client saw delta 10 live and reconnects to another replica, which reads the store.
      const remote = new RunStore(reader, 60_000);
      const controller = new AbortController();
      const resumed = collect(
        (async function* () {
          for await (const entry of remote.tail('run-resume', ids[10]!, controller.signal)) {
            const event = remote.decode('run-resume', entry);
            if (event !== undefined) yield event;
          }
        })(),
        (event) => event.type === 'done',
      );
      const last = await journal.emit(done);
      const got = await resumed;
      controller.abort();
      expect(got.map((event) => event.id)).toEqual([...ids.slice(11), last]);
    });

    it('writes held deltas by itself within the batch interval', async () => {
      const { writer, reader } = await flavour.open();
      const journal = journalOn(new RunStore(writer, 60_000), 'run-timer', 5);
      await journal.emit(runEvent('run-timer'));
      const id = await journal.emit(text('alone'));
      await waitFor(async () => (await new RunStore(reader, 60_000).events('run-timer')).at(-1)?.id === id, { what: 'the held delta to be written' });
    });
  });
});

describe('finished runs on the memory store', () => {
  const state = (id: string, status: RunState['status']): RunState => ({
    id,
    sub: 'user-1',
    conversationId: 'c',
    status,
    messages: [{ role: 'user', content: 'a question the conversation keeps' }],
    iteration: 1,
    createdAtMs: Date.now(),
    deadlineAtMs: Date.now() + 60_000,
  });

  it('keep only what resume needs, at most runs.maxFinishedRuns of them: the oldest finished are evicted and counted', async () => {
    const store = new MemoryStore();
    const metrics = new Metrics();
    const runs = new RunStore(store, 60_000, silentLogger, { max: 3, onEvict: () => metrics.runsEvicted.inc() });
    try {
      await runs.save(state('running-1', 'running'));
      for (let i = 1; i <= 5; i += 1) {
        await runs.save(state(`finished-${i}`, i % 2 === 0 ? 'failed' : 'completed'));
        await runs.append(`finished-${i}`, done);
      }
      await runs.save(state('running-2', 'running'));

      expect(await metricValue(metrics.runsEvicted)).toBe(2);
      for (const id of ['finished-1', 'finished-2']) {
        expect(await runs.load(id)).toBeUndefined();
        expect(await store.readAfter(KEYS.runLog(id), '0')).toEqual([]);
      }
      for (const id of ['finished-3', 'finished-4', 'finished-5']) {
        // Owner and status for a resuming reader, and the log; the messages live in the conversation.
        expect(await runs.load(id)).toMatchObject({ id, sub: 'user-1', messages: [] });
        expect(await runs.events(id)).toHaveLength(1);
      }
      // Running runs are never evicted and keep their messages.
      for (const id of ['running-1', 'running-2']) expect((await runs.load(id))?.messages).toHaveLength(1);
    } finally {
      await store.close();
    }
  });
});

describe('conversations on the memory store', () => {
  const question = (text: string) => [{ role: 'user' as const, content: text }];

  it('keep at most runs.maxConversations: the least recently updated is evicted and counted, a continued one stays', async () => {
    const store = new MemoryStore();
    const metrics = new Metrics();
    const conversations = new Conversations(store, 60_000, 20, silentLogger, { max: 2, onEvict: () => metrics.conversationsEvicted.inc() });
    try {
      await conversations.save('user-1', 'a', question('first'));
      await conversations.save('user-1', 'b', question('second'));
      // Continuing `a` makes `b` the least recently updated.
      await conversations.save('user-1', 'a', [...question('first'), { role: 'assistant', content: 'ok' }, ...question('again')]);
      await conversations.save('user-2', 'c', question('third'));

      expect(await metricValue(metrics.conversationsEvicted)).toBe(1);
      await expect(conversations.get('user-1', 'b')).rejects.toMatchObject({ code: 'REQ_4004' });
      expect((await conversations.list('user-1')).map((summary) => summary.id)).toEqual(['a']);
      expect((await conversations.get('user-1', 'a')).turns).toBe(2);
      expect((await conversations.list('user-2')).map((summary) => summary.id)).toEqual(['c']);

      // A deleted conversation no longer counts: two more fit without evicting anything else.
      await conversations.delete('user-2', 'c');
      await conversations.save('user-2', 'd', question('fourth'));
      expect(await metricValue(metrics.conversationsEvicted)).toBe(1);
      expect((await conversations.list('user-1')).map((summary) => summary.id)).toEqual(['a']);
    } finally {
      await store.close();
    }
  });
});

describe('the cap in a gateway', () => {
  let stack: TestStack;
  let gw: RunningGateway;

  beforeAll(async () => {
    stack = await startTestStack();
    gw = await startGateway(testConfig(stack, { runs: { maxFinishedRuns: 2, maxConversations: 2 } }));
  });
  afterAll(async () => {
    await gw?.close();
    await stack?.close();
  });

  it('evicts the oldest finished run past runs.maxFinishedRuns and exports the count', async () => {
    const bob = await stack.issuer.tokenFor('bob.martinez');
    const runIds: string[] = [];
    for (let i = 0; i < 3; i += 1) runIds.push(runIdOf(await collectRun(await startRun(gw.url, bob, { query: 'Analyze revenue: list the invoices' }))));
    await waitFor(async () => (await metricValue(gw.gateway.metrics.runsEvicted)) === 1, { what: 'one eviction' });
    expect((await api(`${gw.url}/api/runs/${runIds[0]}/events`, { token: bob })).status).toBe(404);
    const latest = await collectRun(await readRun(gw.url, bob, runIds[2]!));
    expect(latest.at(-1)?.event).toBe('done');
    expect((await api(`${gw.url}/metrics`)).body).toMatch(/^gateway_runs_evicted_total 1$/m);
  });

  it('evicts the least recently updated conversation past runs.maxConversations and exports the count', async () => {
    const carol = await stack.issuer.tokenFor('carol.nguyen');
    const conversationIds: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const frames = await collectRun(await startRun(gw.url, carol, { query: 'list the deals' }));
      conversationIds.push(frames[0]?.data.conversationId as string);
    }
    await waitFor(async () => (await metricValue(gw.gateway.metrics.conversationsEvicted)) >= 1, { what: 'a conversation eviction' });
    expect((await api(`${gw.url}/api/conversations/${conversationIds[0]}`, { token: carol })).status).toBe(404);
    const listed = await api(`${gw.url}/api/conversations`, { token: carol });
    expect((listed.body.conversations as Array<{ id: string }>).map((conversation) => conversation.id)).toEqual(expect.arrayContaining([conversationIds[2]]));
    expect((listed.body.conversations as Array<{ id: string }>).map((conversation) => conversation.id)).not.toContain(conversationIds[0]);
    expect((await api(`${gw.url}/metrics`)).body).toMatch(/^gateway_conversations_evicted_total \d+$/m);
  });
});

describe('idle readers on Redis', () => {
  let stack: TestStack;
  let redis: PrivateRedis;
  let a: RunningGateway;
  let b: RunningGateway;
  let inspector: Redis;
  const readers: SseConnection[] = [];

  beforeAll(async () => {
    stack = await startTestStack();
    redis = await startPrivateRedis();
    inspector = new Redis(redis.url);
    const store = redisStore('runs-idle', redis.url);
    // A renewal every second, so the idle window below spans several of them quickly.
    const overrides = { store, runs: { leaseTtlMs: 3_000 } };
    [a, b] = await Promise.all([startGateway(testConfig(stack, overrides)), startGateway(testConfig(stack, overrides))]);
  });
  afterAll(async () => {
    for (const reader of readers) reader.abort();
    await Promise.all([a?.close(), b?.close()]);
    inspector?.disconnect();
    await stack?.close();
    await redis?.stop();
  });

  it('cost no reads while nothing happens: 20 readers of a paused run share one lease check per renewal', async () => {
    const alice = await stack.issuer.tokenFor('alice.chen');
    const employee = [...stack.servers.hr.controls.data.employees.keys()][0]!;
    const started = await startRun(a.url, alice, { query: `delete employee ${employee}` });
    const frames: SseFrame[] = await collectRun(started, (frame) => frame.event === 'confirmation_required' || frame.event === 'done');
    expect(frames.at(-1)?.event).toBe('confirmation_required');
    started.abort();
    const runId = runIdOf(frames);
    // 20 readers on the replica that does not drive the run, each after the last event: all idle.
    const prefix = (b.gateway.config.store as { keyPrefix: string }).keyPrefix;
    const readsBefore = await commandCalls(inspector, 'xrange');
    for (let i = 0; i < 20; i += 1) readers.push(await openSse(`${b.url}/api/runs/${runId}/events`, { token: alice, headers: { 'last-event-id': frames.at(-1)!.id! } }));
    await waitFor(async () => (await inspector.get(`${prefix}${KEYS.runReaders(runId)}`)) === '20', { what: '20 readers attached' });
    // Each reader reads the log once as it starts (finding nothing after its id), then waits.
    await waitFor(async () => (await commandCalls(inspector, 'xrange')) >= readsBefore + 20, { what: 'every reader to have read once' });

    const before = { xrange: await commandCalls(inspector, 'xrange'), get: await commandCalls(inspector, 'get'), set: await commandCalls(inspector, 'set') };
    // The window: three lease renewals by the driving replica (SET), however long they take here.
    await waitFor(async () => (await commandCalls(inspector, 'set')) >= before.set + 3, { timeoutMs: 30_000, intervalMs: 100, what: 'three lease renewals' });
    const xranges = (await commandCalls(inspector, 'xrange')) - before.xrange;
    const gets = (await commandCalls(inspector, 'get')) - before.get;
    expect(xranges).toBe(0);
    // Per reader this would be 20 a renewal; shared, about one (twice that allows for timers drifting on a busy machine).
    expect(gets).toBeLessThanOrEqual(2 * 3 + 2);
    expect(gets).toBeGreaterThanOrEqual(1);
  });
});
