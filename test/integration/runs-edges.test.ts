/**
 * Edges of reading a run (issue 8, items 6 and 7; issue 12, item 5): a reader positioned at a
 * finished run's last event gets the end at once (204, which also tells an EventSource to stop); a
 * query of only whitespace and control characters is refused; a run paused for a confirmation
 * survives having no reader past the grace period, and a returning reader sees the card again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startGateway, startTestStack, testConfig, type RunningGateway, type TestStack } from '../helpers/stack.js';
import { collectRun, type SseFrame } from '../helpers/sse.js';
import { readRun, runIdOf, startRun } from './runs-support.js';

const GRACE_MS = 150;

let stack: TestStack;
let gw: RunningGateway;
let alice: string;
let bob: string;

beforeAll(async () => {
  stack = await startTestStack();
  gw = await startGateway(testConfig(stack, { runs: { detachGraceMs: GRACE_MS } }));
  [alice, bob] = await Promise.all([stack.issuer.tokenFor('alice.chen'), stack.issuer.tokenFor('bob.martinez')]);
});

afterAll(async () => {
  await gw?.close();
  await stack?.close();
});

describe('a reader at the end of a finished run', () => {
  it('reconnecting with the id of `done` gets 204 at once; with an earlier id, the rest', async () => {
    const frames = await collectRun(await startRun(gw.url, bob, { query: 'list the invoices' }));
    const runId = runIdOf(frames);
    const done = frames.at(-1)!;
    expect(done.event).toBe('done');

    const atEnd = await readRun(gw.url, bob, runId, done.id);
    expect(atEnd.status).toBe(204);
    const beyond = await readRun(gw.url, bob, runId, `${BigInt(done.id!.split('-')[0]!) + 1000n}-0`);
    expect(beyond.status).toBe(204);
    const rest = await collectRun(await readRun(gw.url, bob, runId, frames.at(-2)!.id));
    expect(rest.map((frame) => frame.id)).toEqual([done.id]);
  });
});

describe('a query of nothing but whitespace and control characters', () => {
  it.each(['\u0000\u0001\u0002', ' \t\r\n ', '\u007f\u0085\u009f', '\u0007 \u001b \u0000'])('%j → 400 REQ_4000', async (query) => {
    const response = await api(`${gw.url}/api/query`, { token: bob, body: { query } });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: 'REQ_4000', retryable: false });
  });

  it('a real question among control characters is still accepted', async () => {
    const frames = await collectRun(await startRun(gw.url, bob, { query: '\u0001 list the invoices \u0002' }));
    expect(frames.at(-1)?.data.status).toBe('completed');
  });
});

describe('a run paused for a confirmation, with no reader', () => {
  it('outlives the grace period; a returning reader sees the card again and can approve it', async () => {
    const connection = await startRun(gw.url, alice, { query: 'delete employee E-1049' });
    const frames = await collectRun(connection, (frame: SseFrame) => frame.event === 'confirmation_required' || frame.event === 'done');
    expect(frames.at(-1)?.event).toBe('confirmation_required');
    const runId = runIdOf(frames);
    connection.abort();
    // Well past the grace period, with nobody reading.
    await new Promise((resolve) => setTimeout(resolve, GRACE_MS * 6));
    expect(gw.gateway.runs.activeCount).toBe(1);

    const back = await readRun(gw.url, alice, runId);
    const replay = await collectRun(back, (frame) => frame.event === 'confirmation_required' || frame.event === 'done');
    expect(replay.at(-1)?.event).toBe('confirmation_required');
    const confirmationId = replay.at(-1)!.data.confirmationId as string;
    const decided = await api(`${gw.url}/api/confirmations/${confirmationId}`, { token: alice, body: { decision: 'approve' } });
    expect(decided.status).toBe(200);
    expect((await collectRun(back)).at(-1)).toMatchObject({ event: 'done', data: { status: 'completed' } });
    expect(stack.servers.hr.controls.data.employees.has('E-1049')).toBe(false);
  });
});
