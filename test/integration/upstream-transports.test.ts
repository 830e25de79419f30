/**
 * Any MCP server behind the gateway (issue 9): third-party servers from the npm registry as real
 * upstream processes. server-everything over its three transports (Streamable HTTP, legacy HTTP+SSE,
 * stdio) passes one shared suite — listed and called through /api/tools and /mcp, progress extending
 * a call's deadline, its resources and prompts offered and read through /mcp — and server-memory
 * (stdio only) answers an agent run. A stdio server killed
 * mid-call is restarted and the next call succeeds; an HTTP server restarted behind the gateway
 * (400 on the old session) is usable again within one call; bad stdio commands leave an
 * `unavailable` upstream and a running gateway.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectRun } from '../helpers/sse.js';
import { api, startGateway, startTestStack, testConfig, waitFor, type RunningGateway, type TestStack } from '../helpers/stack.js';
import { childProcesses, EVERYTHING, MEMORY, startEverything, type HttpServerProcess } from '../helpers/third-party.js';
import { metricValue, startRun } from './runs-support.js';

let stack: TestStack;
let http: HttpServerProcess;
let sse: HttpServerProcess;
let gw: RunningGateway;
let alice: string;
let memoryDir: string;

const TRANSPORTS = ['everything-http', 'everything-sse', 'everything-stdio'] as const;

beforeAll(async () => {
  stack = await startTestStack();
  [http, sse] = await Promise.all([startEverything('streamableHttp'), startEverything('sse')]);
  memoryDir = await mkdtemp(join(tmpdir(), 'gateway-memory-'));
  const thirdParty = { roles: ['employee'], auth: { type: 'none' as const }, timeoutMs: 4_000, maxTotalTimeoutMs: 30_000 };
  gw = await startGateway(
    testConfig(stack, {
      servers: {
        'everything-http': { ...thirdParty, url: http.url },
        'everything-sse': { ...thirdParty, transport: 'sse', url: sse.url },
        'everything-stdio': { roles: ['employee'], command: process.execPath, args: [EVERYTHING, 'stdio'], timeoutMs: 4_000, maxTotalTimeoutMs: 30_000 },
        memory: { roles: ['employee'], command: process.execPath, args: [MEMORY], env: { MEMORY_FILE_PATH: join(memoryDir, 'memory.jsonl') } },
      },
      upstream: { connectTimeoutMs: 15_000, stdio: { restartBaseMs: 200 } },
    }),
  );
  alice = await stack.issuer.tokenFor('alice.chen');
  await gw.gateway.tools.catalogue.loaded();
  for (const server of [...TRANSPORTS, 'memory']) {
    await waitFor(() => gw.gateway.tools.catalogue.isAvailable(server) || (void gw.gateway.tools.catalogue.refresh(server), false), {
      timeoutMs: 60_000,
      intervalMs: 500,
      what: `${server} listed`,
    });
  }
}, 120_000);

afterAll(async () => {
  await gw?.close();
  await Promise.all([http?.stop(), sse?.stop()]);
  await stack?.close();
  if (memoryDir !== undefined) await rm(memoryDir, { recursive: true, force: true });
});

const call = (server: string, tool: string, args: Record<string, unknown>) => api(`${gw.url}/api/tools/${server}/${tool}`, { token: alice, body: { arguments: args } });
const textOf = (result: { content?: Array<{ type: string; text?: string }> }): string => (result.content ?? []).map((block) => block.text ?? '').join('');

describe.each(TRANSPORTS)('server-everything over %s', (server) => {
  it('is listed in /api/tools under qualified names, with its annotations', async () => {
    const { body } = await api(`${gw.url}/api/tools`, { token: alice });
    const names = (body.tools as Array<{ qualifiedName: string }>).map((tool) => tool.qualifiedName);
    expect(names).toEqual(expect.arrayContaining([`${server}__echo`, `${server}__get-sum`, `${server}__trigger-long-running-operation`]));
  });

  it('shows the tools it offers only to clients that can answer elicitation, sampling and roots (the gateway relays them)', async () => {
    const { body } = await api(`${gw.url}/api/tools`, { token: alice });
    const names = (body.tools as Array<{ qualifiedName: string }>).map((tool) => tool.qualifiedName);
    expect(names).toEqual(expect.arrayContaining([`${server}__trigger-elicitation-request`, `${server}__trigger-sampling-request`, `${server}__get-roots-list`]));
  });

  it('answers a call through /api/tools', async () => {
    const response = await call(server, 'get-sum', { a: 2, b: 40 });
    expect(response.status).toBe(200);
    expect(textOf(response.body.result)).toContain('42');
  });

  it('answers concurrent calls on one connection, each with its own answer', async () => {
    const answers = await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map((word) => call(server, 'echo', { message: word })));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(answers.map((answer) => textOf(answer.body.result))).toEqual(['a', 'b', 'c', 'd', 'e', 'f'].map((word) => `Echo: ${word}`));
  });

  it('is listed and called through the gateway\'s /mcp endpoint', async () => {
    const client = new Client({ name: 'transport-test', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${alice}` } } }));
    try {
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toContain(`${server}__echo`);
      const result = await client.callTool({ name: `${server}__echo`, arguments: { message: 'via mcp' } });
      expect(textOf(result as { content: Array<{ type: string; text?: string }> })).toBe('Echo: via mcp');
    } finally {
      await client.close();
    }
  });

  it('offers its resources and prompts through /mcp under gateway URIs and qualified names, readable there', async () => {
    const client = new Client({ name: 'transport-test', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${alice}` } } }));
    try {
      const resources = [];
      let cursor: string | undefined;
      do {
        const page = await client.listResources(cursor === undefined ? {} : { cursor });
        resources.push(...page.resources);
        cursor = page.nextCursor;
      } while (cursor !== undefined);
      const own = resources.filter((resource) => resource.uri.startsWith(`mcp-gateway://${server}/`));
      expect(own.length).toBeGreaterThan(0);
      const read = await client.readResource({ uri: own[0]!.uri });
      expect(read.contents[0]?.uri).toBe(own[0]!.uri);
      expect('text' in read.contents[0]! || 'blob' in read.contents[0]!).toBe(true);

      const { prompts } = await client.listPrompts();
      const simple = prompts.find((prompt) => prompt.name.startsWith(`${server}__`) && (prompt.arguments ?? []).every((argument) => argument.required !== true));
      expect(simple).toBeDefined();
      const got = await client.getPrompt({ name: simple!.name });
      expect(got.messages.length).toBeGreaterThan(0);
    } finally {
      await client.close();
    }
  });

  // server-everything asks for roots per session, outside the call over HTTP (its standalone stream):
  // nothing ties that request to a caller, so it is refused. Over stdio one call in flight owns it.
  it('relays its roots request to the /mcp client that made the call only when the request belongs to that call', async () => {
    const client = new Client({ name: 'transport-test', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' }, capabilities: { roots: {} } });
    client.setRequestHandler('roots/list', () => ({ roots: [{ uri: 'file:///projects/gateway', name: 'gateway' }] }));
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${alice}` } } }));
    try {
      const result = await client.callTool({ name: `${server}__get-roots-list`, arguments: {} });
      const text = textOf(result);
      if (server === 'everything-stdio') expect(text).toContain('file:///projects/gateway');
      else expect(text).toContain('no roots are currently configured');
    } finally {
      await client.close();
    }
  });

  it('a call longer than timeoutMs that reports progress is not cut off (progress extends the deadline)', async () => {
    // 6 s of work against a 4 s deadline, with a progress notification every second.
    const response = await call(server, 'trigger-long-running-operation', { duration: 6, steps: 6 });
    expect(response.status).toBe(200);
    expect(textOf(response.body.result)).toContain('Long running operation completed');
  });

  it('is reported up by readiness', async () => {
    const { body } = await api(`${gw.url}/health/ready`);
    expect(body.checks[`upstream:${server}`].ok).toBe(true);
  });
});

describe('a stdio-only server (server-memory)', () => {
  it('keeps state across calls in its one process', async () => {
    const created = await call('memory', 'create_entities', { entities: [{ name: 'Gateway', entityType: 'project', observations: ['routes tool calls'] }] });
    // create_entities is not read-only: it waits for a human.
    expect(created.status).toBe(202);
    const approved = await api(`${gw.url}/api/confirmations/${created.body.confirmation.id}`, { token: alice, body: { decision: 'approve' } });
    expect(approved.status).toBe(200);
    const read = await call('memory', 'read_graph', {});
    expect(read.status).toBe(200);
    expect(JSON.stringify(read.body.result)).toContain('routes tool calls');
  });

  it('answers an agent run', async () => {
    const frames = await collectRun(await startRun(gw.url, alice, { query: 'Search the knowledge graph for Gateway' }));
    const calls = frames.filter((frame) => frame.event === 'tool_call').map((frame) => frame.data as { server?: string; tool?: string; name?: string });
    expect(JSON.stringify(calls)).toContain('memory');
    const results = frames.filter((frame) => frame.event === 'tool_result');
    expect(results.length).toBeGreaterThan(0);
    expect(JSON.stringify(results)).toContain('Gateway');
    expect(frames.at(-1)?.event).toBe('done');
  });
});

describe('recovery', () => {
  it('a stdio server killed mid-call is restarted (metric), and the next call succeeds', async () => {
    const restarts = await metricValue(gw.gateway.metrics.upstreamRestarts, { server: 'everything-stdio' });
    const before = childProcesses(EVERYTHING).filter((child) => child.args.endsWith('stdio'));
    expect(before).toHaveLength(1);
    const pending = call('everything-stdio', 'trigger-long-running-operation', { duration: 8, steps: 8 });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    process.kill(before[0]!.pid, 'SIGKILL');
    const killed = await pending;
    // Read-only and idempotent, so the gateway may repeat it on the restarted process within the call's
    // deadline; otherwise the call ends unavailable (503) or out of time (504) — never a 500, never a hang.
    expect([200, 503, 504]).toContain(killed.status);
    if (killed.status !== 200) expect(killed.body.error.code).toBe(killed.status === 503 ? 'MCP_2003' : 'MCP_2001');
    await waitFor(async () => (await metricValue(gw.gateway.metrics.upstreamRestarts, { server: 'everything-stdio' })) > restarts, { timeoutMs: 30_000, what: 'a restart' });
    const next = await call('everything-stdio', 'echo', { message: 'after restart' });
    expect(next.status).toBe(200);
    expect(textOf(next.body.result)).toBe('Echo: after restart');
    const after = childProcesses(EVERYTHING).filter((child) => child.args.endsWith('stdio'));
    expect(after).toHaveLength(1);
    expect(after[0]!.pid).not.toBe(before[0]!.pid);
  });

  it('an HTTP server restarted behind the gateway (400 on the old session) is usable again within one call', async () => {
    expect((await call('everything-http', 'echo', { message: 'before' })).status).toBe(200);
    const reconnects = await metricValue(gw.gateway.metrics.upstreamReconnects, { server: 'everything-http' });
    await http.restart();
    const response = await call('everything-http', 'echo', { message: 'after' });
    expect(response.status).toBe(200);
    expect(textOf(response.body.result)).toBe('Echo: after');
    expect(await metricValue(gw.gateway.metrics.upstreamReconnects, { server: 'everything-http' })).toBe(reconnects + 1);
    await waitFor(async () => (await api(`${gw.url}/health/ready`)).body.checks['upstream:everything-http'].ok === true, { what: 'readiness to recover' });
  });

  it('a legacy SSE server restarted behind the gateway is usable again', async () => {
    await sse.restart();
    await waitFor(async () => (await call('everything-sse', 'echo', { message: 'again' })).status === 200, { timeoutMs: 30_000, intervalMs: 250, what: 'the SSE server to answer again' });
  });
});

describe('bad stdio commands', () => {
  let broken: RunningGateway;

  beforeAll(async () => {
    broken = await startGateway(
      testConfig(stack, {
        servers: {
          ghost: { roles: ['employee'], command: join(memoryDir, 'no-such-program') },
          quitter: { roles: ['employee'], command: process.execPath, args: ['-e', 'process.exit(3)'] },
          babbler: { roles: ['employee'], command: process.execPath, args: ['-e', 'setInterval(() => console.log("this is not JSON-RPC"), 50)'] },
        },
        upstream: { connectTimeoutMs: 1_500, stdio: { restartBaseMs: 100, restartMaxMs: 400, crashLoopRestarts: 3 } },
      }),
    );
  });

  afterAll(async () => {
    await broken?.close();
  });

  it.each([
    ['ghost', /ENOENT|not found|no such/i],
    ['quitter', /closed|exited|could not be started/i],
    ['babbler', /timed out|time|could not be started/i],
  ])('%s: the upstream is reported unavailable with the reason, the gateway keeps serving', async (server, reason) => {
    await waitFor(async () => (await metricValue(broken.gateway.metrics.upstreamRestarts, { server })) >= 3, { timeoutMs: 60_000, intervalMs: 200, what: `${server} to crash-loop` });
    const { status, body } = await api(`${broken.url}/health/ready`);
    expect(status).toBe(200);
    const check = body.checks[`upstream:${server}`];
    expect(check.ok).toBe(false);
    expect(check.detail).toMatch(reason);
    const response = await api(`${broken.url}/api/tools/${server}/anything`, { token: alice, body: { arguments: {} } });
    expect(response.status).toBe(503);
    expect(response.body.error.code).toBe('MCP_2003');
    // The other servers still answer.
    expect((await api(`${broken.url}/api/tools/hr/list_employees`, { token: alice, body: { arguments: { limit: 1 } } })).status).toBe(200);
  });
});

describe('shutdown', () => {
  it('stops every stdio child process with the gateway', async () => {
    const own = await startGateway(testConfig(stack, { servers: { solo: { roles: ['employee'], command: process.execPath, args: [MEMORY, '--solo-marker'] } } }));
    await waitFor(() => own.gateway.tools.serverStatus('solo').ok, { timeoutMs: 30_000, intervalMs: 100, what: 'the stdio server to start' });
    expect(childProcesses('--solo-marker')).toHaveLength(1);
    await own.close();
    expect(childProcesses('--solo-marker')).toHaveLength(0);
  });
});
