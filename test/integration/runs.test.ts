/**
 * Agent runs on one gateway (issue 5): the complete SSE stream and its headers, the tools and
 * prompt-cache breakpoints the model is given, servers that are down, bad input, model errors and a
 * rejected API key, token budgets and the query rate limit, and conversation follow-ups. The model is
 * the simulated Anthropic API spoken to through the official SDK; the tools are the sample servers.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { request, type IncomingMessage } from 'node:http';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatedAnthropic, type SimulatedAnthropicHandle } from '../../src/dev/sim-anthropic/index.js';
import { api, startGateway, startTestStack, testConfig, waitFor, type RunningGateway, type TestStack } from '../helpers/stack.js';
import { collectRun, type SseFrame } from '../helpers/sse.js';
import { eventsOf, expectStrictlyIncreasing, metricValue, readRun, runIdOf, runLog, startRun, type ModelRequestBody } from './runs-support.js';

const INVOICES = 'Analyze revenue: list the invoices';

let stack: TestStack;
let gw: RunningGateway;
let bob: string;
let alice: string;

beforeAll(async () => {
  stack = await startTestStack();
  gw = await startGateway(testConfig(stack, { llm: { maxRetries: 0 } }));
  [bob, alice] = await Promise.all([stack.issuer.tokenFor('bob.martinez'), stack.issuer.tokenFor('alice.chen')]);
});

afterAll(async () => {
  await gw?.close();
  await stack?.close();
});

const lastModelRequest = (): ModelRequestBody => stack.model.requests().at(-1) as ModelRequestBody;

describe('SSE stream complete', () => {
  it.each([
    ['Accept: text/event-stream', {}],
    ['Accept: */* and Accept-Encoding: gzip', { accept: '*/*', 'accept-encoding': 'gzip, deflate, br' }],
  ])('bob lists the invoices → run, tool_call, tool_result, text, usage, done (%s)', async (_name, headers) => {
    const connection = await startRun(gw.url, bob, { query: INVOICES }, headers);
    expect(connection.status).toBe(200);
    expect(connection.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(connection.headers.get('cache-control')).toMatch(/^no-cache/);
    expect(connection.headers.get('x-accel-buffering')).toBe('no');
    expect(connection.headers.get('content-encoding')).toBeNull();
    expect(connection.headers.get('x-run-id')).toMatch(/^[0-9a-f-]{36}$/);

    const frames = await collectRun(connection);
    const events = eventsOf(frames);
    expect(events[0]).toBe('run');
    expect(frames[0]!.data).toMatchObject({ runId: connection.headers.get('x-run-id'), servers: ['finance', 'hr', 'support'], unavailable: [] });
    const call = frames.find((frame) => frame.event === 'tool_call');
    expect(call?.data).toMatchObject({ server: 'finance', tool: 'list_invoices' });
    const result = frames.find((frame) => frame.event === 'tool_result');
    expect(result?.data).toMatchObject({ callId: call?.data.callId, ok: true, isError: false, truncated: false });
    expect(events.indexOf('tool_call')).toBeLessThan(events.indexOf('tool_result'));
    const answer = frames.slice(events.indexOf('tool_result')).filter((frame) => frame.event === 'text');
    expect(answer.length).toBeGreaterThan(1);
    expect(answer.map((frame) => frame.data.delta as string).join('')).toContain('invoice');
    expect(events.filter((event) => event === 'usage')).toHaveLength(2);
    expect(frames.at(-1)).toMatchObject({ event: 'done', data: { status: 'completed', stopReason: 'end_turn' } });
    expect(events.filter((event) => event === 'done')).toHaveLength(1);
    expectStrictlyIncreasing(frames);
  });

  it('offers the model exactly bob’s visible tools, in a stable order, with cache breakpoints', async () => {
    const listed = await api(`${gw.url}/api/tools`, { token: bob });
    const visible = (listed.body.tools as Array<{ qualifiedName: string }>).map((tool) => tool.qualifiedName);
    expect(visible.length).toBeGreaterThan(2);

    await collectRun(await startRun(gw.url, bob, { query: INVOICES }));
    const first = lastModelRequest();
    await collectRun(await startRun(gw.url, bob, { query: INVOICES }));
    const second = lastModelRequest();

    expect(first.tools?.map((tool) => tool.name)).toEqual(visible);
    // Byte-stable across runs, so the cached prefix matches.
    expect(JSON.stringify(second.tools)).toBe(JSON.stringify(first.tools));
    expect(first.tools?.at(-1)?.cache_control).toEqual({ type: 'ephemeral' });
    expect(first.tools?.slice(0, -1).every((tool) => tool.cache_control === undefined)).toBe(true);
    expect(first.system?.[0]?.cache_control).toEqual({ type: 'ephemeral' });
    expect(first.tools?.some((tool) => tool.name.startsWith('finance__'))).toBe(true);
    expect(first.tools?.some((tool) => tool.name === 'hr__delete_employee')).toBe(false);
  });

  it('counts a finished stream once in the request metrics', async () => {
    const before = await metricValue(gw.gateway.metrics.httpRequests, { route: '/api/query', status: '200' });
    await collectRun(await startRun(gw.url, bob, { query: INVOICES }));
    await waitFor(async () => (await metricValue(gw.gateway.metrics.httpRequests, { route: '/api/query', status: '200' })) > before, { what: 'the access record' });
    expect(await metricValue(gw.gateway.metrics.httpRequests, { route: '/api/query', status: '200' })).toBe(before + 1);
  });

  it('another user with the same roles hits the prompt cache', async () => {
    await collectRun(await startRun(gw.url, bob, { query: INVOICES }));
    const twin = await stack.issuer.tokenFor('bob.martinez', { claims: { sub: randomUUID(), preferred_username: 'bob.twin', email: 'bob.twin@example.com' } });
    const frames = await collectRun(await startRun(gw.url, twin, { query: INVOICES }));
    const usage = frames.find((frame) => frame.event === 'usage');
    expect(usage?.data.cacheReadTokens).toBeGreaterThan(0);
    expect(frames.at(-1)?.data.status).toBe('completed');
  });
});

describe('servers that are down', () => {
  let degraded: RunningGateway;

  beforeAll(async () => {
    // A port that refuses connections: bound, then released.
    const probe = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => probe.once('listening', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise((resolve) => probe.close(resolve));
    degraded = await startGateway(testConfig(stack, { servers: { finance: { url: `http://127.0.0.1:${port}/mcp` } } }));
  });

  afterAll(async () => {
    await degraded?.close();
  });

  it('are left out of the tools and named in a warning and in run.unavailable', async () => {
    const frames = await collectRun(await startRun(degraded.url, bob, { query: 'list the support tickets' }));
    expect(frames[0]?.data).toMatchObject({ servers: ['hr', 'support'], unavailable: ['finance'] });
    const warning = frames.find((frame) => frame.event === 'warning');
    expect(warning?.data).toMatchObject({ code: 'SERVER_UNAVAILABLE' });
    expect(warning?.data.message).toContain('finance');
    const offered = lastModelRequest().tools?.map((tool) => tool.name) ?? [];
    expect(offered.length).toBeGreaterThan(0);
    expect(offered.some((name) => name.startsWith('finance__'))).toBe(false);
    expect(frames.at(-1)?.data.status).toBe('completed');
  });
});

describe('bad input', () => {
  const post = (body: unknown, token: string | null = bob) => api(`${gw.url}/api/query`, { token: token ?? undefined, body });

  it.each([
    ['a missing query', {}],
    ['an empty query', { query: '' }],
    ['a blank query', { query: '   ' }],
    ['a too long query', { query: 'x'.repeat(8_001) }],
    ['a numeric query', { query: 42 }],
    ['a boolean query', { query: true }],
    ['an array query', { query: ['list invoices'] }],
    ['an object query', { query: { text: 'list invoices' } }],
    ['a conversationId that is not an id', { query: 'hi', conversationId: 'nope' }],
    ['a numeric conversationId', { query: 'hi', conversationId: 7 }],
    ['an unknown field', { query: 'list the invoices', model: 'claude-opus' }],
    ['a body that is not an object', ['list the invoices']],
  ])('%s → 400 REQ_4000', async (_name, body) => {
    const response = await post(body);
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: 'REQ_4000', retryable: false });
    expect(typeof response.body.error.requestId).toBe('string');
  });

  it('malformed JSON → 400 REQ_4001', async () => {
    const response = await post('{"query": "list', bob);
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('REQ_4001');
  });

  it('no token → 401 AUTH_1001', async () => {
    const response = await post({ query: INVOICES }, null);
    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe('AUTH_1001');
  });

  it('an unknown run, or another user’s run → 404 RUN_6001 for GET events and DELETE', async () => {
    const frames = await collectRun(await startRun(gw.url, bob, { query: INVOICES }));
    const bobsRun = runIdOf(frames);
    for (const runId of [randomUUID(), bobsRun]) {
      const events = await api(`${gw.url}/api/runs/${runId}/events`, { token: alice });
      expect(events.status).toBe(404);
      expect(events.body.error.code).toBe('RUN_6001');
      const cancel = await api(`${gw.url}/api/runs/${runId}`, { method: 'DELETE', token: alice });
      expect(cancel.status).toBe(404);
      expect(cancel.body.error.code).toBe('RUN_6001');
    }
    // Bob's finished run cannot be cancelled any more.
    const late = await api(`${gw.url}/api/runs/${bobsRun}`, { method: 'DELETE', token: bob });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('RUN_6002');
  });

  it.each([['header', { 'last-event-id': 'yesterday' }, ''], ['query parameter', {}, '?lastEventId=1-2-3']])(
    'a bad Last-Event-ID (%s) → 400 REQ_4000',
    async (_name, headers, search) => {
      const frames = await collectRun(await startRun(gw.url, bob, { query: INVOICES }));
      const response = await api(`${gw.url}/api/runs/${runIdOf(frames)}/events${search}`, { token: bob, headers });
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('REQ_4000');
    },
  );

  it('the gateway still serves runs after all that', async () => {
    const frames = await collectRun(await startRun(gw.url, bob, { query: INVOICES }));
    expect(frames.at(-1)?.data.status).toBe('completed');
    expect(gw.gateway.runs.activeCount).toBe(0);
  });
});

describe('model errors', () => {
  it.each([
    [429, 'CLAUDE_3002'],
    [500, 'CLAUDE_3001'],
    [529, 'CLAUDE_3001'],
  ] as const)('%i beyond the SDK retries → error %s (retryable), then done failed', async (status, code) => {
    stack.model.failNext(1, status);
    const frames = await collectRun(await startRun(gw.url, bob, { query: INVOICES }));
    expect(eventsOf(frames)).toEqual(['run', 'error', 'done']);
    expect(frames[1]?.data).toMatchObject({ code, retryable: true });
    expect(frames[2]?.data).toEqual({ status: 'failed', stopReason: code });
  });

  describe('a rejected API key', () => {
    let strictModel: SimulatedAnthropicHandle;
    let badKey: RunningGateway;

    beforeAll(async () => {
      strictModel = await startSimulatedAnthropic({ rejectKeys: ['revoked-key'] });
      badKey = await startGateway(testConfig(stack, { llm: { apiKey: 'revoked-key', baseURL: strictModel.url, maxRetries: 0 } }));
    });

    afterAll(async () => {
      await badKey?.close();
      await strictModel?.close();
    });

    it('shows in readiness before any query', async () => {
      let ready = await api(`${badKey.url}/health/ready`);
      await waitFor(
        async () => {
          ready = await api(`${badKey.url}/health/ready`);
          return ready.body?.checks?.model !== undefined;
        },
        { what: 'the model check' },
      );
      expect(strictModel.stats.requests).toBe(0);
      expect(ready.body.status).toBe('degraded');
      expect(ready.body.checks.model.ok).toBe(false);
      expect(ready.body.checks.model.detail).toMatch(/api key/i);
    });

    it('and a query then fails with CLAUDE_3004', async () => {
      const frames = await collectRun(await startRun(badKey.url, bob, { query: INVOICES }));
      expect(frames.find((frame) => frame.event === 'error')?.data).toMatchObject({ code: 'CLAUDE_3004', retryable: false });
      expect(frames.at(-1)?.data.status).toBe('failed');
    });
  });
});

describe('budgets and rate limits', () => {
  let limited: RunningGateway;

  beforeAll(async () => {
    limited = await startGateway(
      testConfig(stack, {
        limits: {
          tiers: [
            { name: 'finance', roles: ['finance-read'], queriesPerHour: 100, requestsPerMinute: 1_000, tokensPerDay: 10 },
            { name: 'default', roles: [], queriesPerHour: 1, requestsPerMinute: 1_000, tokensPerDay: 1_000_000 },
          ],
        },
      }),
    );
  });

  afterAll(async () => {
    await limited?.close();
  });

  it('a tiny daily token budget allows the first run, then refuses with 429 CLAUDE_3003', async () => {
    const first = await collectRun(await startRun(limited.url, bob, { query: INVOICES }));
    expect(first.at(-1)?.data.status).toBe('completed');
    const refused = await api(`${limited.url}/api/query`, { token: bob, body: { query: INVOICES } });
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ code: 'CLAUDE_3003', retryable: true });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('the hourly query limit refuses with 429 RATE_4290', async () => {
    const frank = await stack.issuer.tokenFor('frank.lee');
    const first = await collectRun(await startRun(limited.url, frank, { query: 'list the support tickets' }));
    expect(first.at(-1)?.event).toBe('done');
    const refused = await api(`${limited.url}/api/query`, { token: frank, body: { query: 'list the support tickets' } });
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('RATE_4290');
  });
});

describe('conversations', () => {
  it('a follow-up with the conversationId sends the earlier turns to the model', async () => {
    const first = await collectRun(await startRun(gw.url, bob, { query: INVOICES }));
    const conversationId = first[0]?.data.conversationId as string;
    const second = await collectRun(await startRun(gw.url, bob, { query: 'now list the budgets', conversationId }));
    expect(second[0]?.data.conversationId).toBe(conversationId);
    expect(second.at(-1)?.data.status).toBe('completed');
    const questions = stack.model
      .requests()
      .map((body) => (body as ModelRequestBody).messages)
      .at(-1)
      ?.filter((message) => message.role === 'user' && typeof message.content === 'string')
      .map((message) => message.content);
    expect(questions).toEqual([INVOICES, 'now list the budgets']);
  });

  it('another user’s conversationId → 404', async () => {
    const first = await collectRun(await startRun(gw.url, bob, { query: INVOICES }));
    const response = await api(`${gw.url}/api/query`, { token: alice, body: { query: 'list employees', conversationId: first[0]?.data.conversationId } });
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('REQ_4004');
  });
});

/** Reads a finished run to its end, resuming after the last frame received whenever the stream is cut. */
async function readWholeRun(baseUrl: string, token: string, runId: string): Promise<SseFrame[]> {
  const frames: SseFrame[] = [];
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const connection = await readRun(baseUrl, token, runId, frames.at(-1)?.id);
    try {
      for await (const frame of connection.frames) {
        if (frame.event === 'comment') continue;
        frames.push(frame);
        if (frame.event === 'done') return frames;
      }
    } catch {
      // Cut off as a slow reader: the next attempt resumes where this one stopped.
    }
  }
  throw new Error(`run ${runId}: no done after 5 attempts (${frames.length} frames)`);
}

describe('a reader that never reads', () => {
  let tight: RunningGateway;

  beforeAll(async () => {
    tight = await startGateway(
      testConfig(stack, {
        server: { bodyLimit: 16 * 1_048_576 },
        limits: { maxQueryChars: 4_000_000 },
        llm: { maxTokens: 10_000_000 },
        // A reader holding more than 2 KiB back gets one heartbeat interval to catch up.
        sse: { maxBufferedBytes: 2_048, heartbeatMs: 1_000 },
        // The cut-off reader must not cancel the run: the run is meant to go on without it.
        runs: { detachGraceMs: 60_000 },
      }),
    );
  });

  afterAll(async () => {
    await tight?.close();
  });

  it('is cut off without affecting the run', async () => {
    // A loopback socket absorbs a few MB before the gateway sees any backlog, so the run must write
    // more than that: the model copies the quoted text into the tool call's arguments (3 bytes a
    // character in UTF-8), and the tool_call event carries them.
    const payload = '漢'.repeat(2_000_000);
    const body = JSON.stringify({ query: `get employee salary record "${payload}"` });
    const slowBefore = await metricValue(tight.gateway.metrics.sseAborted, { reason: 'slow' });
    const { hostname, port } = new URL(tight.url);
    const outgoing = request({
      host: hostname,
      port,
      method: 'POST',
      path: '/api/query',
      headers: { authorization: `Bearer ${bob}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    outgoing.end(body);
    const [response] = (await once(outgoing, 'response')) as [IncomingMessage];
    // Headers only; the body is never read.
    response.pause();
    expect(response.statusCode).toBe(200);
    const runId = response.headers['x-run-id'] as string;

    await waitFor(async () => (await metricValue(tight.gateway.metrics.sseAborted, { reason: 'slow' })) > slowBefore, { timeoutMs: 45_000, what: 'the slow reader to be cut off' });
    // The gateway dropped the connection: once the client reads again, it finds it closed, short of `done`.
    let received = '';
    response.on('data', (chunk: Buffer) => void (received += chunk.toString('utf8')));
    response.on('error', () => undefined);
    const closed = once(response.socket, 'close');
    response.resume();
    await closed;
    expect(received).not.toContain('event: done');
    await waitFor(async () => (await runLog(tight.gateway, runId)).at(-1)?.type === 'done', { timeoutMs: 45_000, what: 'the run to finish' });
    const log = await runLog(tight.gateway, runId);
    expect(log.at(-1)?.data).toEqual({ status: 'completed', stopReason: 'end_turn' });
    const call = log.find((event) => event.type === 'tool_call');
    expect(call?.data).toMatchObject({ server: 'hr', tool: 'get_employee' });

    // A reader that does read gets all of it, the big event included, from the same tight gateway. On a
    // busy machine it may fall behind on the 6 MB event and be cut off too: it resumes after its last frame.
    const all = await readWholeRun(tight.url, bob, runId);
    expect(all.map((frame) => frame.id)).toEqual(log.map((event) => event.id));
    expect(all.find((frame) => frame.event === 'tool_call')?.data.arguments.employeeId).toHaveLength(payload.length);
    await waitFor(() => tight.gateway.sse.size === 0 && tight.gateway.runs.activeCount === 0, { what: 'streams and runs to close' });
    // Building and pushing a 6 MB event is CPU-bound: on a busy 2-core machine it takes far longer than the default.
  }, 120_000);
});
