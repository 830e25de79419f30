/**
 * Third-party MCP servers from PyPI behind the gateway, on the Python MCP SDK: mcp-server-time as a
 * stdio process the gateway starts, and the same server served over Streamable HTTP and legacy
 * HTTP+SSE by mcp-proxy (also from PyPI). Each is listed and called through /api/tools and /mcp;
 * bad arguments are refused by the gateway (400 MCP_2006) before the upstream sees them, and an
 * upstream's own refusal comes back as a tool error result.
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startGateway, startTestStack, testConfig, waitFor, type RunningGateway, type TestStack } from '../helpers/stack.js';
import { pypiScript, startMcpProxy, type ProxiedServer } from '../helpers/pypi.js';

const SERVERS = ['time-stdio', 'time-http', 'time-sse'] as const;

let stack: TestStack;
let proxied: ProxiedServer;
let gw: RunningGateway;
let alice: string;

beforeAll(async () => {
  const time = await pypiScript('mcp-server-time');
  // A fixed zone, so the answer does not depend on the machine's.
  const timeArgs = ['--local-timezone', 'UTC'];
  [stack, proxied] = await Promise.all([startTestStack(), startMcpProxy(time, timeArgs)]);
  const common = { roles: ['employee'], timeoutMs: 10_000, maxTotalTimeoutMs: 30_000 };
  gw = await startGateway(
    testConfig(stack, {
      servers: {
        'time-stdio': { ...common, command: time, args: timeArgs },
        'time-http': { ...common, url: proxied.url, auth: { type: 'none' as const } },
        'time-sse': { ...common, transport: 'sse', url: proxied.sseUrl, auth: { type: 'none' as const } },
      },
      upstream: { connectTimeoutMs: 15_000 },
    }),
  );
  alice = await stack.issuer.tokenFor('alice.chen');
  await gw.gateway.tools.catalogue.loaded();
  for (const server of SERVERS) {
    await waitFor(() => gw.gateway.tools.catalogue.isAvailable(server) || (void gw.gateway.tools.catalogue.refresh(server), false), {
      timeoutMs: 60_000,
      intervalMs: 500,
      what: `${server} listed`,
    });
  }
}, 600_000);

afterAll(async () => {
  await gw?.close();
  await proxied?.stop();
  await stack?.close();
});

const call = (server: string, tool: string, args: unknown) => api(`${gw.url}/api/tools/${server}/${tool}`, { token: alice, body: { arguments: args } });

function textOf(result: { content?: Array<{ type: string; text?: string }> } | undefined): string {
  return (result?.content ?? []).map((part) => part.text ?? '').join('');
}

describe.each(SERVERS)('mcp-server-time from PyPI, %s', (server) => {
  it('is listed in /api/tools under qualified names', async () => {
    const { body } = await api(`${gw.url}/api/tools`, { token: alice });
    const names = (body.tools as Array<{ qualifiedName: string }>).map((tool) => tool.qualifiedName);
    expect(names).toEqual(expect.arrayContaining([`${server}__get_current_time`, `${server}__convert_time`]));
  });

  it('answers a call through /api/tools', async () => {
    const response = await call(server, 'convert_time', { source_timezone: 'UTC', time: '12:00', target_timezone: 'Asia/Tokyo' });
    expect(response.status).toBe(200);
    const answer = JSON.parse(textOf(response.body.result)) as { source: { timezone: string }; target: { timezone: string; datetime: string } };
    expect(answer.source.timezone).toBe('UTC');
    expect(answer.target).toMatchObject({ timezone: 'Asia/Tokyo' });
    expect(answer.target.datetime).toContain('T21:00:00');
  });

  it('is listed and called through the gateway\'s /mcp endpoint', async () => {
    const client = new Client({ name: 'pypi-test', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${alice}` } } }));
    try {
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toContain(`${server}__get_current_time`);
      const result = await client.callTool({ name: `${server}__get_current_time`, arguments: { timezone: 'UTC' } });
      expect(result.isError).not.toBe(true);
      expect(JSON.parse(textOf(result as { content: Array<{ type: string; text?: string }> }))).toMatchObject({ timezone: 'UTC' });
    } finally {
      await client.close();
    }
  });

  it('bad arguments: the gateway refuses a missing one (400 MCP_2006); the server\'s own refusal is a tool error', async () => {
    const missing = await call(server, 'get_current_time', {});
    expect(missing.status).toBe(400);
    expect(missing.body.error.code).toBe('MCP_2006');
    const unknownZone = await call(server, 'get_current_time', { timezone: 'Not/AZone' });
    expect(unknownZone.status).toBe(200);
    expect(unknownZone.body.result.isError).toBe(true);
    expect((await api(`${gw.url}/health/live`)).status).toBe(200);
  });
});
