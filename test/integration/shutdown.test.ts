/**
 * Graceful shutdown mid-stream (review GAP-003): readiness turns 503 and new runs are refused at once;
 * a run that finishes within the grace period reaches its reader; one that does not is cancelled end
 * to end (the model request aborted) and its reader told so; the streams are ended, close resolves.
 */
import { once } from 'node:events';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startGateway, startTestStack, testConfig, type TestStack } from '../helpers/stack.js';
import { collectRun, openSse } from '../helpers/sse.js';

let stack: TestStack;

beforeAll(async () => {
  // A slow model: the first token after 300 ms, then 20 ms between deltas.
  stack = await startTestStack({ firstTokenMs: 300, tokenDelayMs: 20 });
});

afterAll(async () => {
  await stack?.close();
});

describe('graceful shutdown', () => {
  it('lets a run finish within the grace period while refusing new work', async () => {
    const { gateway, url } = await startGateway(testConfig(stack, { shutdown: { graceMs: 20_000 } }));
    const token = await stack.issuer.tokenFor('bob.martinez');
    const stream = await openSse(`${url}/api/query`, { token, body: { query: 'list the invoices' } });
    expect(stream.status).toBe(200);
    await collectRun(stream, (frame) => frame.event === 'run');

    const closing = gateway.close();
    const ready = await api(`${url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(ready.body.status).toBe('shutting-down');
    const refused = await api(`${url}/api/query`, { token, body: { query: 'list the invoices again' } });
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatchObject({ code: 'GATEWAY_9001', retryable: true });

    const rest = await collectRun(stream);
    expect(rest.at(-1)).toMatchObject({ event: 'done', data: { status: 'completed' } });
    await closing;
    expect(gateway.runs.activeCount).toBe(0);
    expect(gateway.sse.size).toBe(0);
  });

  it('cancels a run that outlives the grace period, aborting the model request, and ends its stream', async () => {
    const { gateway, url } = await startGateway(testConfig(stack, { shutdown: { graceMs: 50 } }));
    const token = await stack.issuer.tokenFor('bob.martinez');
    const modelRequest = once(stack.model.events, 'request');
    const stream = await openSse(`${url}/api/query`, { token, body: { query: 'list the invoices' } });
    await collectRun(stream, (frame) => frame.event === 'run');
    await modelRequest;
    const aborted = once(stack.model.events, 'aborted');

    await gateway.close();
    await aborted;
    const rest = await collectRun(stream);
    expect(rest.at(-1)).toMatchObject({ event: 'done', data: { status: 'cancelled', stopReason: 'gateway shutting down' } });
    expect(gateway.runs.activeCount).toBe(0);
    expect(gateway.sse.size).toBe(0);
  });

  it('does not wait for a connection that never sent a request: the gateway closes it after a short drain', async () => {
    const { gateway, url } = await startGateway(testConfig(stack, { shutdown: { graceMs: 500 } }));
    const { hostname, port } = new URL(url);
    // A client that connects and says nothing (a pre-opened keep-alive socket, or a slow client).
    const silent = connect(Number(port), hostname);
    await once(silent, 'connect');
    const socketClosed = once(silent, 'close');
    // Without the cut-off, close() would wait for Node's next timeout sweep (every 30 s): longer than this test may take.
    await gateway.close();
    await socketClosed;
    expect(silent.bytesWritten).toBe(0);
  }, 20_000);
});
