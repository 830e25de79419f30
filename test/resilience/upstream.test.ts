/**
 * Upstream faults inside a run (issue 8): a tool server that hangs, and one that dies mid-call. Either
 * way the run ends with a final event (the model reads the failure as a tool error and answers), the
 * reader is not left waiting, and the gateway stays healthy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestStack, testConfig, waitFor, type TestStack } from '../helpers/stack.js';
import { collectRun, openSse } from '../helpers/sse.js';
import { startReplica, type Replica } from './replica.js';

let stack: TestStack;
let replica: Replica;
let bob: string;

beforeAll(async () => {
  stack = await startTestStack();
  replica = await startReplica(testConfig(stack, { upstream: { callTimeoutMs: 2_000, retry: { attempts: 1 }, catalogueRefreshMs: 1_000 } }));
  bob = await stack.issuer.tokenFor('bob.martinez');
  await financeAvailable();
});

/** The finance server is in the catalogue (so the next request it gets is the run's tool call). */
async function financeAvailable(): Promise<void> {
  await waitFor(
    async () => {
      const me = await api(`${replica.url}/api/me`, { token: bob });
      return (me.body?.servers as Array<{ name: string; available: boolean }> | undefined)?.some((server) => server.name === 'finance' && server.available) === true;
    },
    { timeoutMs: 30_000, what: 'the finance server to be available' },
  );
}

afterAll(async () => {
  await replica?.stop();
  await stack?.close();
});

describe('an upstream fault mid-run', () => {
  it('a tool server that hangs: the call times out, the run ends with done', async () => {
    stack.servers.finance.controls.hangNextToolCalls(1);
    const frames = await collectRun(await openSse(`${replica.url}/api/query`, { token: bob, body: { query: 'list the invoices' } }));
    expect(frames.find((frame) => frame.event === 'tool_result')?.data).toMatchObject({ ok: false, isError: true });
    expect(frames.at(-1)).toMatchObject({ event: 'done', data: { status: 'completed' } });
  });

  it('a tool server that dies mid-call: the run ends with done, the gateway stays live', async () => {
    await financeAvailable();
    stack.servers.finance.controls.hangNextToolCalls(1);
    const connection = await openSse(`${replica.url}/api/query`, { token: bob, body: { query: 'list the invoices' } });
    const before = await collectRun(connection, (frame) => frame.event === 'tool_call');
    expect(before.at(-1)?.event).toBe('tool_call');
    // The server goes away while the call waits for its answer.
    await stack.servers.finance.close();
    const rest = await collectRun(connection);
    expect(rest.find((frame) => frame.event === 'tool_result')?.data).toMatchObject({ ok: false, isError: true });
    expect(rest.at(-1)?.event).toBe('done');
    await waitFor(async () => (await api(`${replica.url}/health/live`)).status === 200, { what: 'the gateway to stay live' });
  });
});
