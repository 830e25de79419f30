/**
 * What an upstream sends during a call reaches the /mcp client that made it, in both protocol eras
 * and for upstreams of both eras: progress, log messages at the client's level, cancellation going
 * the other way, and the upstream's own requests (elicitation, sampling) answered by the client.
 * The upstreams are the conformance fixture, once serving both eras and once 2025-era only.
 */
import { Client, StreamableHTTPClientTransport, type ElicitResult, type LoggingMessageNotificationParams } from '@modelcontextprotocol/client';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as LegacyTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ElicitRequestSchema, LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../../src/app.js';
import { AuditLog, type StoredAuditRecord } from '../../src/ops/audit.js';
import { DEV_CLIENT_ID, startDevIssuer, type DevIssuer } from '../../src/dev/dev-issuer.js';
import { startConformanceFixture, type ConformanceFixture } from '../conformance/fixture-server.js';
import { api, issuerOnlyConfig, waitFor } from '../helpers/stack.js';

let issuer: DevIssuer;
let modernUpstream: ConformanceFixture;
let legacyUpstream: ConformanceFixture;
let gateway: Gateway;
let url = '';

beforeAll(async () => {
  [issuer, modernUpstream, legacyUpstream] = await Promise.all([startDevIssuer({ clientId: DEV_CLIENT_ID }), startConformanceFixture(), startConformanceFixture({ eras: 'legacy' })]);
  const config = issuerOnlyConfig(issuer, {
    servers: {
      fx: { url: modernUpstream.url, description: 'Fixture, both eras', roles: ['employee'], tools: { test_simple_text: { confirm: true } } },
      old: { url: legacyUpstream.url, description: 'Fixture, 2025 era only', roles: ['employee'] },
    },
    llm: { apiKey: 'unused' },
  });
  gateway = await createGateway(config);
  url = `${await gateway.listen()}/mcp`;
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([issuer?.close(), modernUpstream?.close(), legacyUpstream?.close()]);
});

type Era = 'modern' | 'legacy';
const ERAS: Era[] = ['modern', 'legacy'];
const UPSTREAMS = ['fx', 'old'] as const;

interface Caller {
  listTools(): Promise<string[]>;
  callTool(name: string, args: Record<string, unknown>, options?: { onprogress?: (progress: { progress: number }) => void; signal?: AbortSignal; logLevel?: string }): Promise<{ content?: unknown; isError?: boolean; structuredContent?: unknown }>;
  setLogLevel(level: 'debug' | 'info' | 'warning' | 'error'): Promise<void>;
  readonly logs: LoggingMessageNotificationParams[];
  close(): Promise<void>;
}

interface CallerOptions {
  elicit?: (params: { message: string; requestedSchema?: unknown }) => ElicitResult | Promise<ElicitResult>;
  sample?: (params: { messages: unknown[] }) => string;
  username?: string;
}

async function modernCaller(options: CallerOptions = {}): Promise<Caller> {
  const token = await issuer.tokenFor(options.username ?? 'frank.lee');
  const capabilities = { ...(options.elicit === undefined ? {} : { elicitation: { form: {} } }), ...(options.sample === undefined ? {} : { sampling: {} }) };
  const client = new Client({ name: 'relay-test', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' }, capabilities });
  const logs: LoggingMessageNotificationParams[] = [];
  let level: string | undefined;
  client.setNotificationHandler('notifications/message', (notification) => {
    logs.push(notification.params);
  });
  const { elicit, sample } = options;
  if (elicit !== undefined) client.setRequestHandler('elicitation/create', async (request) => elicit(request.params as { message: string }));
  if (sample !== undefined) {
    client.setRequestHandler('sampling/createMessage', (request) => ({ role: 'assistant', model: 'test-model', content: { type: 'text', text: sample(request.params) } }));
  }
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
  return {
    logs,
    listTools: async () => (await client.listTools()).tools.map((tool) => tool.name),
    // On 2026-07-28 the level travels with each request.
    setLogLevel: async (next) => {
      level = next;
    },
    callTool: (name, args, callOptions = {}) =>
      client.callTool(
        { name, arguments: args, ...(level === undefined ? {} : { _meta: { 'io.modelcontextprotocol/logLevel': level } }) },
        { ...(callOptions.onprogress === undefined ? {} : { onprogress: callOptions.onprogress }), ...(callOptions.signal === undefined ? {} : { signal: callOptions.signal }), timeout: 30_000 },
      ),
    close: () => client.close(),
  };
}

async function legacyCaller(options: CallerOptions = {}): Promise<Caller> {
  const token = await issuer.tokenFor(options.username ?? 'frank.lee');
  const capabilities = { ...(options.elicit === undefined ? {} : { elicitation: { form: {} } }), ...(options.sample === undefined ? {} : { sampling: {} }) };
  const client = new LegacyClient({ name: 'relay-test-v1', version: '1.0.0' }, { capabilities });
  const logs: LoggingMessageNotificationParams[] = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
    logs.push(notification.params);
  });
  const { elicit, sample } = options;
  if (elicit !== undefined) client.setRequestHandler(ElicitRequestSchema, async (request) => elicit(request.params as { message: string }) as never);
  if (sample !== undefined) {
    client.setRequestHandler(CreateMessageRequestSchema, (request) => ({ role: 'assistant' as const, model: 'test-model', content: { type: 'text' as const, text: sample(request.params) } }));
  }
  await client.connect(new LegacyTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return {
    logs,
    listTools: async () => (await client.listTools()).tools.map((tool) => tool.name),
    setLogLevel: async (level) => {
      await client.setLoggingLevel(level);
    },
    callTool: (name, args, callOptions = {}) =>
      client.callTool({ name, arguments: args }, undefined, {
        ...(callOptions.onprogress === undefined ? {} : { onprogress: callOptions.onprogress }),
        ...(callOptions.signal === undefined ? {} : { signal: callOptions.signal }),
        timeout: 30_000,
      }) as Promise<{ content?: unknown; isError?: boolean }>,
    close: () => client.close(),
  };
}

const callerFor = (era: Era, options: CallerOptions = {}): Promise<Caller> => (era === 'modern' ? modernCaller(options) : legacyCaller(options));

function textOf(result: { content?: unknown }): string {
  return ((result.content ?? []) as Array<{ text?: string }>).map((block) => block.text ?? '').join('\n');
}

describe.each(ERAS)('/mcp relay, %s client', (era) => {
  describe.each(UPSTREAMS)('upstream %s', (upstream) => {
    it('relays progress of a long call under the client’s own progress token', async () => {
      const caller = await callerFor(era);
      try {
        const seen: number[] = [];
        const result = await caller.callTool(`${upstream}__test_slow`, { seconds: 0.5 }, { onprogress: (progress) => seen.push(progress.progress) });
        expect(result.isError).not.toBe(true);
        expect(result.structuredContent).toEqual({ ticks: 5 });
        expect(seen).toEqual([1, 2, 3, 4, 5]);
      } finally {
        await caller.close();
      }
    });

    it('relays the upstream’s log messages at the level the client set, and none below it', async () => {
      const caller = await callerFor(era);
      try {
        await caller.setLogLevel('info');
        const result = await caller.callTool(`${upstream}__test_tool_with_logging`, {});
        expect(textOf(result)).toContain('executed successfully');
        await waitFor(() => caller.logs.length >= 3, { what: 'three log messages' });
        expect(caller.logs.map((log) => log.data)).toEqual(['Tool execution started', 'Tool processing data', 'Tool execution completed']);
        await caller.setLogLevel('error');
        await caller.callTool(`${upstream}__test_tool_with_logging`, {});
        expect(caller.logs).toHaveLength(3);
      } finally {
        await caller.close();
      }
    });

    it('cancels the upstream call when the client cancels: the upstream stops early', async () => {
      const fixture = upstream === 'fx' ? modernUpstream : legacyUpstream;
      const caller = await callerFor(era);
      try {
        const before = { cancelled: fixture.seen.cancelledCalls, completed: fixture.seen.completedSlowCalls };
        const controller = new AbortController();
        let ticks = 0;
        const call = caller.callTool(`${upstream}__test_slow`, { seconds: 20 }, {
          signal: controller.signal,
          onprogress: () => {
            ticks += 1;
            if (ticks === 2) controller.abort(new Error('changed my mind'));
          },
        });
        await expect(call).rejects.toThrow();
        await waitFor(() => fixture.seen.cancelledCalls > before.cancelled, { timeoutMs: 10_000, what: 'the upstream to see the cancellation' });
        expect(fixture.seen.completedSlowCalls).toBe(before.completed);
      } finally {
        await caller.close();
      }
    });

    it('relays an elicitation to the client and its answer back to the upstream', async () => {
      const asked: string[] = [];
      const caller = await callerFor(era, {
        elicit: (params) => {
          asked.push(params.message);
          return { action: 'accept', content: { username: 'frank', email: 'frank@example.com' } };
        },
      });
      try {
        const result = await caller.callTool(`${upstream}__test_elicitation`, { message: 'Who are you?' });
        expect(asked).toEqual(['Who are you?']);
        expect(textOf(result)).toBe('User response: action=accept, content={"username":"frank","email":"frank@example.com"}');
      } finally {
        await caller.close();
      }
    });

    it('relays a sampling request to the client and its answer back to the upstream', async () => {
      const caller = await callerFor(era, { sample: () => 'forty-two' });
      try {
        const result = await caller.callTool(`${upstream}__test_sampling`, { prompt: 'What is the answer?' });
        expect(textOf(result)).toBe('LLM response: forty-two');
      } finally {
        await caller.close();
      }
    });

    it('gets the upstream an error, not a hang, when the client cannot answer an elicitation', async () => {
      const caller = await callerFor(era);
      try {
        const result = await caller.callTool(`${upstream}__test_elicitation`, { message: 'Who are you?' });
        expect(result.isError).toBe(true);
        expect(textOf(result)).toMatch(/elicitation/);
      } finally {
        await caller.close();
      }
    });
  });

  describe('confirmations', () => {
    const SIMPLE = 'This is a simple text response for testing.';

    async function auditOf(confirmationId: string): Promise<StoredAuditRecord[]> {
      const audit = new AuditLog(gateway.app.log, { store: gateway.store, maxRecords: 10_000, ttlMs: 3_600_000 });
      await new Promise((resolve) => setTimeout(resolve, 50));
      // The query answers newest first; oldest first reads as the story.
      return (await audit.query({ user: 'frank.lee', limit: 1_000 })).filter((record) => record.confirmationId === confirmationId).reverse();
    }

    it('asks the person through elicitation (tool, server, arguments) and runs the call when they approve', async () => {
      const asked: string[] = [];
      const caller = await callerFor(era, {
        elicit: (params) => {
          asked.push(params.message);
          return { action: 'accept', content: { approve: true } };
        },
      });
      try {
        expect(await caller.listTools()).not.toContain('gateway__confirmation_status');
        const result = await caller.callTool('fx__test_simple_text', {});
        expect(textOf(result)).toBe(SIMPLE);
        expect(asked).toHaveLength(1);
        expect(asked[0]).toContain('fx__test_simple_text');
        expect(asked[0]).toContain('server fx');
        expect(asked[0]).toContain('Returns simple text content');
      } finally {
        await caller.close();
      }
    });

    it('refuses the call when the person declines, and audits it like any confirmation', async () => {
      const caller = await callerFor(era, { elicit: () => ({ action: 'decline' }) });
      try {
        const result = await caller.callTool('fx__test_simple_text', {});
        expect(result.isError).toBe(true);
        expect(textOf(result)).toContain('declined');
        const { confirmationId } = result.structuredContent as { confirmationId: string };
        await waitFor(async () => (await auditOf(confirmationId)).length >= 2, { what: 'the confirmation audit records' });
        const records = await auditOf(confirmationId);
        expect(records.map((record) => [record.event, record.decision, record.outcome])).toEqual([
          ['confirmation', 'confirm', 'pending'],
          ['confirmation', 'reject', 'rejected'],
        ]);
        expect(records.some((record) => record.event === 'tool_call')).toBe(false);
      } finally {
        await caller.close();
      }
    });

    it('gives a client without elicitation the confirmation id and gateway__confirmation_status to collect the result', async () => {
      const caller = await callerFor(era);
      const frank = await issuer.tokenFor('frank.lee');
      try {
        expect(await caller.listTools()).toContain('gateway__confirmation_status');
        const first = await caller.callTool('fx__test_simple_text', {});
        expect(first.isError).toBe(true);
        const { confirmationId } = first.structuredContent as { confirmationId: string };
        const pending = await caller.callTool('gateway__confirmation_status', { confirmationId });
        expect(pending.structuredContent).toMatchObject({ status: 'pending', confirmationId });
        // Only the owner learns anything about it.
        const other = await callerFor(era, { username: 'alice.chen' });
        try {
          const foreign = await other.callTool('gateway__confirmation_status', { confirmationId });
          expect(foreign.isError).toBe(true);
          expect(textOf(foreign)).toContain('CONFIRM_5001');
        } finally {
          await other.close();
        }
        const approved = await api(url.replace(/\/mcp$/, `/api/confirmations/${confirmationId}`), { token: frank, body: { decision: 'approve' } });
        expect(approved.status).toBe(200);
        const collected = await caller.callTool('gateway__confirmation_status', { confirmationId });
        expect(textOf(collected)).toBe(SIMPLE);
        const bad = await caller.callTool('gateway__confirmation_status', {});
        expect(bad.isError).toBe(true);
        expect(textOf(bad)).toContain('MCP_2006');
        await waitFor(async () => (await auditOf(confirmationId)).length >= 3, { what: 'the audit records' });
        expect((await auditOf(confirmationId)).map((record) => [record.event, record.outcome])).toEqual([
          ['confirmation', 'pending'],
          ['confirmation', 'approved'],
          ['tool_call', 'ok'],
        ]);
      } finally {
        await caller.close();
      }
    });
  });

  it('keeps two concurrent callers apart: each answers only its own call’s elicitation', async () => {
    const make = (name: string): Promise<Caller> => callerFor(era, { elicit: () => ({ action: 'accept', content: { username: name, email: `${name}@example.com` } }), username: name === 'frank' ? 'frank.lee' : 'alice.chen' });
    const [frank, alice] = await Promise.all([make('frank'), make('alice')]);
    try {
      const results = await Promise.all(
        Array.from({ length: 3 }, () => [frank.callTool('fx__test_elicitation', { message: 'm' }), alice.callTool('old__test_elicitation', { message: 'm' })]).flat(),
      );
      results.forEach((result, index) => expect(textOf(result)).toContain(index % 2 === 0 ? '"username":"frank"' : '"username":"alice"'));
    } finally {
      await Promise.all([frank.close(), alice.close()]);
    }
  });
});

describe('/mcp relay, bad input', () => {
  const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };
  const headers = { accept: 'application/json, text/event-stream', 'content-type': 'application/json' };

  async function post(token: string, body: unknown, extra: Record<string, string> = {}): Promise<Response> {
    return fetch(url, { method: 'POST', headers: { ...headers, ...extra, authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  }

  it('answers an unknown session, and another user’s session, alike: 404 MCP_2021', async () => {
    const frank = await issuer.tokenFor('frank.lee');
    const alice = await issuer.tokenFor('alice.chen');
    const opened = await post(frank, initialize);
    expect(opened.status).toBe(200);
    const sessionId = opened.headers.get('mcp-session-id');
    expect(sessionId).toBeTruthy();
    const list = { jsonrpc: '2.0', id: 2, method: 'tools/list' };
    const own = await post(frank, list, { 'mcp-session-id': sessionId ?? '', 'mcp-protocol-version': '2025-11-25' });
    expect(own.status).toBe(200);
    for (const [token, id] of [
      [alice, sessionId ?? ''],
      [frank, 'no-such-session'],
    ] as const) {
      const refused = await post(token, list, { 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' });
      expect(refused.status).toBe(404);
      const body = (await refused.json()) as { error: { code: number; data: { code: string } } };
      expect(body.error.data.code).toBe('MCP_2021');
      expect(body.error.code).not.toBe(-32603);
    }
  });

  it('refuses a forged requestState with -32602, never running anything', async () => {
    const token = await issuer.tokenFor('frank.lee');
    const client = new Client({ name: 'forger', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
    try {
      const before = modernUpstream.seen.completedSlowCalls;
      // A retry round's params carry the state the previous round handed out; this one was never minted.
      const forged: { name: string; arguments: Record<string, unknown> } = Object.assign({ name: 'fx__test_slow', arguments: { seconds: 0.1 } }, { requestState: 'v1.forged.state' });
      const error = await client.callTool(forged).then(
        () => undefined,
        (failure: unknown) => failure as { code?: number },
      );
      expect(error?.code).toBe(-32602);
      expect(modernUpstream.seen.completedSlowCalls).toBe(before);
    } finally {
      await client.close();
    }
  });
});
