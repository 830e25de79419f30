/**
 * Agent runs with a slow model (issue 5): the first event leaves before the model answers, heartbeats
 * while the model thinks and while a confirmation waits, end-to-end cancellation when the client goes
 * (the model request and an in-flight upstream call are aborted, the run ends `cancelled`, nothing is
 * left open), reconnecting within the grace period, and DELETE.
 */
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startGateway, startTestStack, testConfig, waitFor, type RunningGateway, type TestStack } from '../helpers/stack.js';
import { collectRun, type SseConnection, type SseFrame } from '../helpers/sse.js';
import { eventsOf, expectStrictlyIncreasing, metricValue, readRun, runIdOf, runLog, startRun } from './runs-support.js';

const GRACE_MS = 200;
const FIRST_TOKEN_MS = 600;
const INVOICES = 'Analyze revenue: list the invoices';

let stack: TestStack;
let gw: RunningGateway;
let bob: string;
let alice: string;

beforeAll(async () => {
  stack = await startTestStack({ firstTokenMs: FIRST_TOKEN_MS, tokenDelayMs: 50 });
  gw = await startGateway(testConfig(stack, { runs: { detachGraceMs: GRACE_MS }, sse: { heartbeatMs: 100 } }));
  [bob, alice] = await Promise.all([stack.issuer.tokenFor('bob.martinez'), stack.issuer.tokenFor('alice.chen')]);
});

afterAll(async () => {
  await gw?.close();
  await stack?.close();
});

/** Reads frames, comments included, until `until` holds. */
async function readUntil(connection: SseConnection, until: (frame: SseFrame) => boolean): Promise<SseFrame[]> {
  const frames: SseFrame[] = [];
  for (;;) {
    const next = await connection.frames.next();
    if (next.done === true) return frames;
    frames.push(next.value);
    if (until(next.value)) return frames;
  }
}

const isPing = (frame: SseFrame): boolean => frame.event === 'comment' && frame.data === 'ping';

async function expectNothingLeft(): Promise<void> {
  await waitFor(() => gw.gateway.sse.size === 0 && gw.gateway.runs.activeCount === 0, { what: 'streams and runs to close' });
  expect(await metricValue(gw.gateway.metrics.sseActive)).toBe(0);
  expect(await metricValue(gw.gateway.metrics.runsActive)).toBe(0);
}

describe('before the model answers', () => {
  it('the run event leaves before the model request completes', async () => {
    const timeline: string[] = [];
    const onCompleted = (): void => void timeline.push('model completed');
    const onRequest = (): void => void timeline.push('model request');
    stack.model.events.on('completed', onCompleted);
    stack.model.events.on('request', onRequest);
    try {
      const connection = await startRun(gw.url, bob, { query: INVOICES });
      const [first] = await collectRun(connection, () => true);
      timeline.push('run event');
      expect(first?.event).toBe('run');
      const rest = await collectRun(connection);
      expect(rest.at(-1)?.data.status).toBe('completed');
      expect(timeline.indexOf('run event')).toBeLessThan(timeline.indexOf('model completed'));
      expect(timeline.filter((entry) => entry === 'model request')).toHaveLength(2);
    } finally {
      stack.model.events.off('completed', onCompleted);
      stack.model.events.off('request', onRequest);
    }
  });

  it('pings arrive while the model thinks', async () => {
    const connection = await startRun(gw.url, bob, { query: INVOICES });
    const beforeText = await readUntil(connection, (frame) => frame.event === 'text');
    expect(beforeText[0]?.event).toBe('run');
    expect(beforeText.filter(isPing).length).toBeGreaterThanOrEqual(2);
    expect((await collectRun(connection)).at(-1)?.data.status).toBe('completed');
  });

  it('pings arrive while a confirmation waits; DELETE then withdraws it and cancels the run', async () => {
    const connection = await startRun(gw.url, alice, { query: 'delete employee E-1050' });
    const frames = await collectRun(connection, (frame) => frame.event === 'confirmation_required');
    const confirmationId = frames.at(-1)?.data.confirmationId as string;
    let pings = 0;
    const waiting = await readUntil(connection, (frame) => isPing(frame) && ++pings >= 2);
    expect(waiting.every(isPing)).toBe(true);

    const cancelled = await api(`${gw.url}/api/runs/${runIdOf(frames)}`, { method: 'DELETE', token: alice });
    expect(cancelled.status).toBe(202);
    const rest = await collectRun(connection);
    expect(rest).toMatchObject([
      { event: 'confirmation_resolved', data: { confirmationId, decision: 'withdrawn' } },
      { event: 'done', data: { status: 'cancelled' } },
    ]);
    const late = await api(`${gw.url}/api/confirmations/${confirmationId}`, { token: alice, body: { decision: 'approve' } });
    expect(late.status).toBe(404);
    expect(stack.servers.hr.controls.data.employees.has('E-1050')).toBe(true);
    await expectNothingLeft();
  });
});

describe('the client goes away', () => {
  it('mid-answer: after the grace period the model request is aborted and the run ends cancelled', async () => {
    const connection = await startRun(gw.url, bob, { query: INVOICES });
    const frames = await collectRun(connection, (frame) => frame.event === 'text');
    const runId = runIdOf(frames);
    const aborted = once(stack.model.events, 'aborted');
    const abortedBefore = stack.model.stats.aborted;
    const leftAt = performance.now();
    connection.abort();
    await aborted;
    const elapsed = performance.now() - leftAt;
    // Not before the grace period; promptly after it (the bound: within 1 s).
    expect(elapsed).toBeGreaterThanOrEqual(GRACE_MS - 5);
    expect(elapsed).toBeLessThan(GRACE_MS + 1_000);
    expect(stack.model.stats.aborted).toBe(abortedBefore + 1);

    await waitFor(async () => (await runLog(gw.gateway, runId)).at(-1)?.type === 'done', { what: 'the run to end' });
    const log = await runLog(gw.gateway, runId);
    expect(log.at(-1)).toMatchObject({ type: 'done', data: { status: 'cancelled', stopReason: 'all readers left' } });
    expect(log.filter((event) => event.type === 'done')).toHaveLength(1);
    await expectNothingLeft();

    // The owner can still read how it ended.
    const replay = await collectRun(await readRun(gw.url, bob, runId));
    expect(replay.at(-1)?.data.status).toBe('cancelled');
  });

  it('during a tool call: the hung upstream request is cancelled too', async () => {
    const finance = stack.servers.finance.controls;
    const callsBefore = finance.requestCount();
    const cancelledBefore = await metricValue(gw.gateway.metrics.toolCalls, { server: 'finance', tool: 'list_invoices', outcome: 'cancelled' });
    finance.hangNext(1);
    const connection = await startRun(gw.url, bob, { query: INVOICES });
    const frames = await collectRun(connection, (frame) => frame.event === 'tool_call');
    await waitFor(() => finance.requestCount() > callsBefore, { what: 'the tool call to reach finance' });
    connection.abort();

    await waitFor(async () => (await runLog(gw.gateway, runIdOf(frames))).at(-1)?.type === 'done', { what: 'the run to end' });
    const log = await runLog(gw.gateway, runIdOf(frames));
    expect(log.at(-1)?.data).toMatchObject({ status: 'cancelled' });
    expect(log.some((event) => event.type === 'tool_result')).toBe(false);
    expect(await metricValue(gw.gateway.metrics.toolCalls, { server: 'finance', tool: 'list_invoices', outcome: 'cancelled' })).toBe(cancelledBefore + 1);
    await expectNothingLeft();
  });

  it('and comes back within the grace period: the run is not cancelled and continues', async () => {
    const connection = await startRun(gw.url, bob, { query: INVOICES });
    const seen = await collectRun(connection, (frame) => frame.event === 'text');
    connection.abort();
    const resumed = await readRun(gw.url, bob, runIdOf(seen), seen.at(-1)!.id);
    expect(resumed.status).toBe(200);
    const rest = await collectRun(resumed);
    const union = [...seen, ...rest];
    expectStrictlyIncreasing(union);
    expect(eventsOf(union)).toEqual(expect.arrayContaining(['tool_call', 'tool_result', 'usage']));
    expect(union.at(-1)?.data).toEqual({ status: 'completed', stopReason: 'end_turn' });
    const log = await runLog(gw.gateway, runIdOf(seen));
    expect(union.map((frame) => frame.id)).toEqual(log.map((event) => event.id));
  });

  it('DELETE while the model streams aborts the model request', async () => {
    const connection = await startRun(gw.url, bob, { query: INVOICES });
    const frames = await collectRun(connection, (frame) => frame.event === 'text');
    const aborted = once(stack.model.events, 'aborted');
    const cancelled = await api(`${gw.url}/api/runs/${runIdOf(frames)}`, { method: 'DELETE', token: bob });
    expect(cancelled.status).toBe(202);
    await aborted;
    const rest = await collectRun(connection);
    expect(rest.at(-1)).toMatchObject({ event: 'done', data: { status: 'cancelled', stopReason: 'cancelled by the user' } });
    await expectNothingLeft();
  });
});
