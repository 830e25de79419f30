/** The gateway's own MCP endpoint, as MCP clients of both protocol eras see it. */
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

  it('answers tools outside the user’s grants with an error result, never running them', async () => {
    const client = await modernClient('frank.lee');
    try {
      const before = stack.servers.finance.controls.toolCallCount('list_invoices');
      const denied = await client.callTool({ name: 'finance__list_invoices', arguments: {} });
      expect(denied.isError).toBe(true);
      expect(textOf(denied)).toContain('AUTH_1004');
      const unknown = await client.callTool({ name: 'nope__nothing', arguments: {} });
      expect(unknown.isError).toBe(true);
      expect(stack.servers.finance.controls.toolCallCount('list_invoices')).toBe(before);
    } finally {
      await client.close();
    }
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
