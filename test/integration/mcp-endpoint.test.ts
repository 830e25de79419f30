/** The gateway's own MCP endpoint, as MCP clients of both protocol eras see it. */
import { request as httpRequest } from 'node:http';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as LegacyTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startGateway, startTestStack, testConfig, type RunningGateway, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
let gateway: RunningGateway;

beforeAll(async () => {
  stack = await startTestStack();
  gateway = await startGateway(testConfig(stack));
});

afterAll(async () => {
  await gateway?.close();
  await stack?.close();
});

async function modernClient(username: string): Promise<Client> {
  const token = await stack.issuer.tokenFor(username);
  const client = new Client({ name: 'test-client', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return client;
}

/** A POST with a Host header of our choosing (fetch does not let a caller set Host). */
function rawPost(url: string, token: string, body: unknown, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const target = new URL(url);
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { ...headers, authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
      },
    );
    request.once('error', reject);
    request.end(payload);
  });
}

function textOf(result: { content?: unknown }): string {
  const blocks = (result.content ?? []) as Array<{ type: string; text?: string }>;
  return blocks.map((block) => block.text ?? '').join('\n');
}

describe('gateway /mcp endpoint', () => {
  it('refuses a client without a token with 401, the error shape and a challenge pointing at the resource metadata', async () => {
    const response = await api(`${gateway.url}/mcp`, { body: { jsonrpc: '2.0', id: 1, method: 'tools/list' } });
    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe('AUTH_1001');
    const challenge = response.headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(/^Bearer /);
    const metadataUrl = /resource_metadata="([^"]+)"/.exec(challenge)?.[1];
    expect(metadataUrl).toBe(`${gateway.url}/.well-known/oauth-protected-resource/mcp`);
    const metadata = await api(metadataUrl ?? '');
    expect(metadata.status).toBe(200);
    expect(metadata.body).toMatchObject({ resource: `${gateway.url}/mcp`, authorization_servers: [stack.issuer.issuerUrl] });
  });

  it('says why a token was refused in the challenge', async () => {
    const response = await api(`${gateway.url}/mcp`, { token: 'not-a-jwt', body: { jsonrpc: '2.0', id: 1, method: 'tools/list' } });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('negotiates 2026-07-28 and lists exactly the tools the policy shows the user', async () => {
    const client = await modernClient('alice.chen');
    try {
      expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
      const names = (await client.listTools()).tools.map((tool) => tool.name);
      expect(names).toContain('hr__list_employees');
      expect(names).toContain('hr__delete_employee');
      expect(names).toContain('support__list_tickets');
      expect(names.some((name) => name.startsWith('finance__'))).toBe(false);
    } finally {
      await client.close();
    }
  });

  it('calls a read tool through the guarded path', async () => {
    const client = await modernClient('alice.chen');
    try {
      const result = await client.callTool({ name: 'hr__get_employee', arguments: { employeeId: 'E-1003' } });
      expect(result.isError).not.toBe(true);
      expect(result.structuredContent).toMatchObject({ id: 'E-1003' });
    } finally {
      await client.close();
    }
  });

  it('does not run a destructive tool: it returns a confirmation that the API can approve', async () => {
    const client = await modernClient('alice.chen');
    try {
      expect(stack.servers.hr.controls.data.employees.has('E-1050')).toBe(true);
      const result = await client.callTool({ name: 'hr__delete_employee', arguments: { employeeId: 'E-1050' } });
      expect(result.isError).toBe(true);
      const { confirmationId } = result.structuredContent as { confirmationId: string };
      expect(textOf(result)).toContain(confirmationId);
      expect(stack.servers.hr.controls.data.employees.has('E-1050')).toBe(true);
      const approved = await api(`${gateway.url}/api/confirmations/${confirmationId}`, { token: await stack.issuer.tokenFor('alice.chen'), body: { decision: 'approve' } });
      expect(approved.status).toBe(200);
      expect(stack.servers.hr.controls.data.employees.has('E-1050')).toBe(false);
    } finally {
      await client.close();
    }
  });

  it('answers a tool outside the user’s grants exactly like an unknown one: JSON-RPC -32602, never running it', async () => {
    const client = await modernClient('frank.lee');
    try {
      const before = stack.servers.finance.controls.toolCallCount('list_invoices');
      const denied = await client.callTool({ name: 'finance__list_invoices', arguments: {} }).then(
        () => undefined,
        (error: unknown) => error as { code?: number; message?: string },
      );
      const unknown = await client.callTool({ name: 'nope__nothing', arguments: {} }).then(
        () => undefined,
        (error: unknown) => error as { code?: number; message?: string },
      );
      expect(denied?.code).toBe(-32602);
      expect(unknown?.code).toBe(-32602);
      expect(denied?.message?.replace('finance__list_invoices', 'X')).toBe(unknown?.message?.replace('nope__nothing', 'X'));
      // hr__delete_employee exists but frank's roles do not reach it (per-tool rule): the same answer.
      const hidden = await client.callTool({ name: 'hr__delete_employee', arguments: { employeeId: 'E-1001' } }).then(
        () => undefined,
        (error: unknown) => error as { code?: number },
      );
      expect(hidden?.code).toBe(-32602);
      expect(stack.servers.finance.controls.toolCallCount('list_invoices')).toBe(before);
    } finally {
      await client.close();
    }
  });

  it('reports arguments that do not match the schema as a tool error the model can act on', async () => {
    const client = await modernClient('alice.chen');
    try {
      const result = await client.callTool({ name: 'hr__get_employee', arguments: { employeeId: 42 } });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toContain('MCP_2006');
    } finally {
      await client.close();
    }
  });

  it('keeps title, outputSchema and annotations of upstream tools in the list', async () => {
    const client = await modernClient('alice.chen');
    try {
      const tool = (await client.listTools()).tools.find((candidate) => candidate.name === 'hr__get_employee');
      expect(tool?.title).toBeTruthy();
      expect(tool?.outputSchema).toMatchObject({ type: 'object' });
      expect(tool?.annotations).toMatchObject({ readOnlyHint: true });
    } finally {
      await client.close();
    }
  });

  it('refuses a Host or Origin that is not the gateway’s with 403 REQ_4030 (DNS-rebinding protection)', async () => {
    const token = await stack.issuer.tokenFor('alice.chen');
    const body = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } };
    const headers = { accept: 'application/json, text/event-stream' };
    const port = new URL(gateway.url).port;
    const evilHost = await rawPost(`${gateway.url}/mcp`, token, body, { ...headers, host: `evil.example.com:${port}` });
    expect(evilHost.status).toBe(403);
    expect(JSON.parse(evilHost.body).error.code).toBe('REQ_4030');
    const evilOrigin = await api(`${gateway.url}/mcp`, { token, body, headers: { ...headers, origin: 'http://evil.example.com' } });
    expect(evilOrigin.status).toBe(403);
    expect(evilOrigin.body.error.code).toBe('REQ_4030');
    const local = await api(`${gateway.url}/mcp`, { token, body, headers: { ...headers, origin: `http://localhost:${port}` } });
    expect(local.status).toBe(200);
  });

  it('serves 2025-era clients (SDK v1) too', async () => {
    const token = await stack.issuer.tokenFor('bob.martinez');
    const client = new LegacyClient({ name: 'legacy-client', version: '1.0.0' });
    await client.connect(new LegacyTransport(new URL(`${gateway.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
    try {
      const names = (await client.listTools()).tools.map((tool) => tool.name);
      expect(names).toContain('finance__list_invoices');
      const result = await client.callTool({ name: 'finance__list_invoices', arguments: { limit: 2 } });
      expect(result.isError).not.toBe(true);
      expect((result.structuredContent as { invoices: unknown[] }).invoices).toHaveLength(2);
    } finally {
      await client.close();
    }
  });
});
