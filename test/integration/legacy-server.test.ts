/**
 * A 2025-era MCP server through the gateway's pool: built here on the v1 SDK (`McpServer` +
 * stateful `StreamableHTTPServerTransport`, protocol 2025-11-25), as most servers in the wild are.
 * (server-everything's Streamable HTTP mode binds every interface on a fixed port, so it cannot be
 * started deterministically on loopback; this is the same SDK and transport it uses.)
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { api, startGateway, startTestStack, testConfig, waitFor, type RunningGateway, type TestStack } from '../helpers/stack.js';

interface LegacyServer {
  readonly url: string;
  /** Protocol versions the clients asked for in `initialize`. */
  readonly requestedVersions: string[];
  toolCalls(): number;
  /** Adds a tool to every live session (each announces `tools/list_changed`) and to new ones. */
  addTool(name: string): void;
  /** Forgets every session, as a restarted server would: their next requests get 404. */
  dropSessions(): Promise<void>;
  close(): Promise<void>;
}

async function startLegacyServer(): Promise<LegacyServer> {
  const sessions = new Map<string, { server: McpServer; transport: StreamableHTTPServerTransport }>();
  const extraTools: string[] = [];
  const requestedVersions: string[] = [];
  let calls = 0;

  const registerExtra = (server: McpServer, name: string) =>
    server.registerTool(name, { description: `Added later: ${name}`, annotations: { readOnlyHint: true } }, () => ({ content: [{ type: 'text', text: name }] }));

  const build = (): McpServer => {
    const server = new McpServer({ name: 'legacy-echo', version: '1.0.0' }, { capabilities: { tools: { listChanged: true } } });
    server.registerTool(
      'echo',
      { description: 'Echoes the text back.', inputSchema: { text: z.string() }, annotations: { readOnlyHint: true } },
      ({ text }) => {
        calls += 1;
        return { content: [{ type: 'text', text: `echo: ${text}` }] };
      },
    );
    server.registerTool('reset', { description: 'Resets the server state.', annotations: { destructiveHint: true } }, () => ({ content: [{ type: 'text', text: 'reset' }] }));
    for (const name of extraTools) registerExtra(server, name);
    return server;
  };

  const readBody = async (req: IncomingMessage): Promise<unknown> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return chunks.length === 0 ? undefined : JSON.parse(Buffer.concat(chunks).toString('utf8'));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = req.method === 'POST' ? await readBody(req) : undefined;
    const sessionId = req.headers['mcp-session-id'];
    const existing = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
    if (existing !== undefined) return existing.transport.handleRequest(req, res, body);
    if (sessionId !== undefined) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }));
      return;
    }
    const message = body as { method?: string; params?: { protocolVersion?: string } } | undefined;
    if (message?.method === 'initialize' && message.params?.protocolVersion !== undefined) requestedVersions.push(message.params.protocolVersion);
    const server = build();
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, { server, transport });
      },
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  };

  const http: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;

  const dropSessions = async (): Promise<void> => {
    const live = [...sessions.values()];
    sessions.clear();
    await Promise.all(live.map(({ server }) => server.close()));
  };

  return {
    url: `http://127.0.0.1:${port}/mcp`,
    requestedVersions,
    toolCalls: () => calls,
    addTool(name) {
      extraTools.push(name);
      for (const { server } of sessions.values()) registerExtra(server, name);
    },
    dropSessions,
    async close() {
      await dropSessions();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
    },
  };
}

let stack: TestStack;
let legacy: LegacyServer;
let gw: RunningGateway;
let alice: string;

beforeAll(async () => {
  stack = await startTestStack();
  legacy = await startLegacyServer();
  // No assertion check on this server: it ignores the Authorization header, as a third-party server would.
  gw = await startGateway(testConfig(stack, { servers: { legacy: { url: legacy.url, description: 'A 2025-era server', roles: ['employee'] } } }));
  alice = await stack.issuer.tokenFor('alice.chen');
  await gw.gateway.tools.catalogue.loaded();
});

afterAll(async () => {
  await gw?.close();
  await legacy?.close();
  await stack?.close();
});

const echo = (text: string) => api(`${gw.url}/api/tools/legacy/echo`, { token: alice, body: { arguments: { text } } });
const listedNames = async () => ((await api(`${gw.url}/api/tools`, { token: alice })).body.tools as { qualifiedName: string }[]).map((tool) => tool.qualifiedName);

describe('a 2025-era server (SDK v1) through the pool', () => {
  it('negotiates a 2025 protocol version', () => {
    expect(legacy.requestedVersions.length).toBeGreaterThan(0);
    expect(legacy.requestedVersions.at(-1)).toBe(LATEST_PROTOCOL_VERSION);
  });

  it('lists its tools with the policy applied', async () => {
    const response = await api(`${gw.url}/api/tools`, { token: alice });
    expect(response.status).toBe(200);
    const tools = (response.body.tools as { qualifiedName: string; readOnly: boolean; requiresConfirmation: boolean }[]).filter((tool) => tool.qualifiedName.startsWith('legacy__'));
    expect(tools).toEqual([
      expect.objectContaining({ qualifiedName: 'legacy__echo', readOnly: true, requiresConfirmation: false }),
      expect.objectContaining({ qualifiedName: 'legacy__reset', readOnly: false, requiresConfirmation: true }),
    ]);
  });

  it('calls a read tool, reusing one session across calls', async () => {
    const sessionsBefore = legacy.requestedVersions.length;
    const first = await echo('hello');
    expect(first.status).toBe(200);
    expect(first.body.result.content).toEqual([{ type: 'text', text: 'echo: hello' }]);
    const second = await echo('again');
    expect(second.status).toBe(200);
    expect(legacy.toolCalls()).toBe(2);
    expect(legacy.requestedVersions.length).toBe(sessionsBefore);
  });

  it('validates arguments against its schema before calling', async () => {
    const calls = legacy.toolCalls();
    const response = await api(`${gw.url}/api/tools/legacy/echo`, { token: alice, body: { arguments: { text: 42 } } });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('MCP_2006');
    expect(legacy.toolCalls()).toBe(calls);
  });

  it('picks up a tools/list_changed notification', async () => {
    legacy.addTool('ping');
    await waitFor(async () => (await listedNames()).includes('legacy__ping'), { what: 'legacy__ping to be listed' });
  });

  it('starts a new session when the server forgets the old one', async () => {
    const sessions = legacy.requestedVersions.length;
    await legacy.dropSessions();
    const response = await echo('after restart');
    expect(response.status).toBe(200);
    expect(response.body.result.content).toEqual([{ type: 'text', text: 'echo: after restart' }]);
    expect(legacy.requestedVersions.length).toBeGreaterThan(sessions);
  });
});
