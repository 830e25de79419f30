/**
 * The two-replica run scenarios (test/integration/runs-replicas-scenarios.ts) on Redis Sentinel and on
 * Redis Cluster, then what a Sentinel failover in the middle of a run does: to a run streaming model
 * output, and to a run paused on a confirmation that is decided on the other replica after the switch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SseConnection, SseFrame } from '../helpers/sse.js';
import { collectRun } from '../helpers/sse.js';
import { until } from '../integration/store-contract-suite.js';
import { uniquePrefix } from '../helpers/redis.js';
import { api, startGateway, startTestStack, testConfig, type ConfigOverrides, type RunningGateway, type TestStack } from '../helpers/stack.js';
import { defineRunReplicaScenarios } from '../integration/runs-replicas-scenarios.js';
import { expectStrictlyIncreasing, readRun, runIdOf, runLog, startRun } from '../integration/runs-support.js';
import { adminCommand, startRedisCluster, startSentinelSet, type RedisClusterSet, type SentinelSet } from './topologies.js';

let sentinelSet: SentinelSet;
let cluster: RedisClusterSet;

beforeAll(async () => {
  [sentinelSet, cluster] = await Promise.all([startSentinelSet(), startRedisCluster()]);
});
afterAll(async () => {
  await Promise.all([sentinelSet?.close(), cluster?.close()]);
});

// connectTimeoutMs: the gateway waits that long for its store at start-up (a busy machine, a sentinel lookup first).
const sentinelStore = (name: string): ConfigOverrides['store'] => ({
  driver: 'redis',
  sentinel: { name: sentinelSet.name, sentinels: sentinelSet.sentinels },
  keyPrefix: uniquePrefix(`sentinel-${name}`),
  connectTimeoutMs: 5_000,
});
const clusterStore = (name: string): ConfigOverrides['store'] => ({ driver: 'redis', cluster: { nodes: cluster.nodes }, keyPrefix: uniquePrefix(`cluster-${name}`), connectTimeoutMs: 5_000 });

defineRunReplicaScenarios({ name: 'Redis Sentinel', store: sentinelStore });
defineRunReplicaScenarios({ name: 'Redis Cluster', store: clusterStore });

describe('Redis Cluster: the run scenarios stayed within single slots', () => {
  it('no node refused a command CROSSSLOT, and the runs’ keys were spread over every primary', async () => {
    for (const node of cluster.nodes) {
      expect(String(await adminCommand(node.port, 'INFO', 'errorstats'))).not.toMatch(/CROSSSLOT/);
      // Keys of one run (state, log, lease, readers) hash to different slots: the scenarios ran across nodes.
      expect(Number(await adminCommand(node.port, 'DBSIZE'))).toBeGreaterThan(0);
    }
  });
});

/** How long a reader may wait for the end of a stream before the test calls it hung. */
const STREAM_BOUND_MS = 45_000;

/** Reads `connection` until `until` (default `done`) or its end; aborted (and reported hung) after STREAM_BOUND_MS. */
async function readBounded(connection: SseConnection, until?: (frame: SseFrame) => boolean): Promise<{ frames: SseFrame[]; hung: boolean }> {
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    connection.abort();
  }, STREAM_BOUND_MS);
  try {
    return { frames: await collectRun(connection, until), hung };
  } finally {
    clearTimeout(timer);
  }
}

/** A stream's documented ends: `done`, or a retryable `error` / a `reconnect` telling the client to resume. */
function expectDocumentedEnd(frames: readonly SseFrame[]): void {
  const last = frames.at(-1);
  if (last?.event === 'done') return;
  expect(last?.event === 'reconnect' || (last?.event === 'error' && last.data.retryable === true), `stream ended with ${JSON.stringify(last)}`).toBe(true);
}

/**
 * The test's premise: the run was still streaming well after the primary went (the sentinels need
 * `down-after-milliseconds`, 2 s, to notice a killed one; a planned switch takes about 1 s).
 * Event ids start with the driving replica's clock in ms.
 */
function expectOutlived(frames: readonly SseFrame[], sinceMs: number): void {
  const lastMs = Number(frames.at(-1)?.id?.split('-')[0]);
  expect(lastMs - sinceMs, 'the run outlived the failover').toBeGreaterThan(2_000);
}

const pairs = (frames: readonly SseFrame[]): Array<[string | undefined, string]> => frames.map((frame) => [frame.id, frame.event]);

describe('Redis Sentinel: a failover in the middle of a run', () => {
  let stack: TestStack;
  let a: RunningGateway;
  let b: RunningGateway;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    // Slow enough that a run is still streaming while the sentinels switch the primary (several seconds a run).
    stack = await startTestStack({ firstTokenMs: 300, tokenDelayMs: 150 });
    const store = sentinelStore('failover-runs');
    [a, b] = await Promise.all([startGateway(testConfig(stack, { store })), startGateway(testConfig(stack, { store }))]);
    [alice, bob] = await Promise.all([stack.issuer.tokenFor('alice.chen'), stack.issuer.tokenFor('bob.martinez')]);
  });

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await stack?.close();
  });

  /** Starts bob's run on A and reads until its answer has begun to stream. */
  async function answering(): Promise<{ connection: SseConnection; head: SseFrame[]; runId: string }> {
    const connection = await startRun(a.url, bob, { query: 'Analyze revenue: list the invoices' });
    const head = await readBounded(connection, (frame) => frame.event === 'text' || frame.event === 'done');
    expect(head.frames.at(-1)?.event).toBe('text');
    return { connection, head: head.frames, runId: runIdOf(head.frames) };
  }

  it('the primary killed mid-answer: the reader on A reaches a documented end; resuming on B with Last-Event-ID misses and repeats nothing', async () => {
    const before = await sentinelSet.masterPort();
    const { connection, head, runId } = await answering();
    const lostAt = Date.now();
    const [after, tail] = await Promise.all([sentinelSet.killMaster(), readBounded(connection)]);
    expect(after).not.toBe(before);
    expect(tail.hung).toBe(false);
    const seenOnA = [...head, ...tail.frames];
    expectOutlived(seenOnA, lostAt);
    expectDocumentedEnd(seenOnA);

    // Resume on B from the event before the answer began: B reads the rest from the new primary.
    const cut = head.length - 1;
    const resumed = await readBounded(await readRun(b.url, bob, runId, head[cut - 1]!.id));
    expect(resumed.hung).toBe(false);
    expect(resumed.frames.at(-1)?.event).toBe('done');
    const union = [...head.slice(0, cut), ...resumed.frames];
    expectStrictlyIncreasing(union);
    // The driving replica held the events while no primary answered and wrote them to the new one:
    // every event A sent live is in the log under the same id, in order, and the log is what B served.
    expect(pairs(union).slice(0, seenOnA.length)).toEqual(pairs(seenOnA));
    expect(pairs(union)).toEqual((await runLog(b.gateway, runId)).map((event) => [event.id, event.type]));
  });

  it('SENTINEL FAILOVER mid-answer: readers attached on A and on B both get every event once; a later resume sees the log, in order, without repeats', async () => {
    const before = await sentinelSet.masterPort();
    const { connection, head, runId } = await answering();
    const switchedAt = Date.now();
    const onB = await readRun(b.url, bob, runId, head.at(-1)!.id);
    const [after, tailA, tailB] = await Promise.all([sentinelSet.failover(), readBounded(connection), readBounded(onB)]);
    expect(after).not.toBe(before);
    expect(tailA.hung || tailB.hung).toBe(false);
    const seenOnA = [...head, ...tailA.frames];
    expectOutlived(seenOnA, switchedAt);
    expectDocumentedEnd(seenOnA);
    expectStrictlyIncreasing(seenOnA);
    // B followed the log live through the switch: what it got is what A got after the same point.
    expect(pairs(tailB.frames)).toEqual(pairs(tailA.frames));

    // A planned switch is not synchronous: what the old primary took between the promotion and the
    // clients' switch (+switch-master) is discarded when it becomes a replica (docs/redis-topologies.md).
    // The log that remains is a part of what A sent, same ids, same order, no repeats, and ends with done.
    const log = (await runLog(b.gateway, runId)).map((event): [string | undefined, string] => [event.id, event.type]);
    expect(log.at(-1)?.[1]).toBe('done');
    const sent = new Map(pairs(seenOnA).map(([id, event]) => [id, event]));
    expect(log.every(([id, event]) => sent.get(id) === event)).toBe(true);
    const resumed = await readBounded(await readRun(b.url, bob, runId, head[0]!.id));
    expect(resumed.hung).toBe(false);
    expect(pairs(resumed.frames)).toEqual(log.slice(1));
  });

  it('while a run waits for a confirmation: approved on B after the switch, the reader on A sees it through; the log is whole', async () => {
    const employees = (): string[] => [...stack.servers.hr.controls.data.employees.keys()];
    const before = await sentinelSet.masterPort();
    const connection = await startRun(a.url, alice, { query: 'delete employee E-1050' });
    const head = await readBounded(connection, (frame) => frame.event === 'confirmation_required' || frame.event === 'done');
    expect(head.frames.at(-1)?.event).toBe('confirmation_required');
    const runId = runIdOf(head.frames);
    const confirmationId = head.frames.at(-1)!.data.confirmationId as string;

    expect(await sentinelSet.failover()).not.toBe(before);
    // Decisions during the switch are refused retryable (503 GATEWAY_9002): the client retries, as documented.
    let decided: Awaited<ReturnType<typeof api>> | undefined;
    await until(async () => {
      decided = await api(`${b.url}/api/confirmations/${confirmationId}`, { token: alice, body: { decision: 'approve' } });
      if (decided.status === 503) expect(decided.body.error).toMatchObject({ code: 'GATEWAY_9002', retryable: true });
      return decided.status !== 503;
    }, 'the decision to be taken', 30_000);
    expect(decided?.status).toBe(200);

    const rest = await readBounded(connection);
    expect(rest.hung).toBe(false);
    expect(rest.frames[0]).toMatchObject({ event: 'confirmation_resolved', data: { confirmationId, decision: 'approve' } });
    expect(rest.frames.at(-1)).toMatchObject({ event: 'done', data: { status: 'completed' } });
    expect(employees()).not.toContain('E-1050');
    const union = [...head.frames, ...rest.frames];
    expectStrictlyIncreasing(union);
    expect(pairs(union)).toEqual((await runLog(b.gateway, runId)).map((event) => [event.id, event.type]));
  });
});
