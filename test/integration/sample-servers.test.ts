/**
 * The four sample MCP servers, spoken to over loopback by the official clients of both protocol
 * eras (SDK v2 negotiating 2026-07-28, SDK v1 speaking 2025), with identity assertions minted here.
 */
import { Client, StreamableHTTPClientTransport, type CallToolResult } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { findDemoUser } from '../../src/dev/demo-users.js';
import type { Budget, Invoice } from '../../src/dev/sample-servers/finance/data.js';
import type { Employee } from '../../src/dev/sample-servers/hr/data.js';
import type { Deal } from '../../src/dev/sample-servers/sales/data.js';
import type { Ticket } from '../../src/dev/sample-servers/support/data.js';
import { closeSampleServers, startSampleServers, type SampleServerName, type SampleServers } from '../../src/dev/sample-servers/index.js';

const ISSUER = 'http://127.0.0.1:8080';
const KID = 'gateway-1';

let signingKey: CryptoKey;
let forgerKey: CryptoKey;
let servers: SampleServers;
const openClients: { close(): Promise<void> }[] = [];

interface MintOptions {
  expiresInSec?: number;
  key?: CryptoKey;
}

type EmployeeSummary = Pick<Employee, 'id' | 'name' | 'department' | 'managerId' | 'title' | 'email'>;
type Page<Key extends string, Row> = Record<Key, Row[]> & { nextCursor?: string };

/** An identity assertion as the gateway would sign it for `username`. */
async function mint(username: string, audience: string, options: MintOptions = {}): Promise<string> {
  const user = findDemoUser(username);
  if (user === undefined) throw new Error(`unknown demo user ${username}`);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ username: user.username, email: user.email, roles: [...user.realmRoles, ...user.clientRoles] })
    .setProtectedHeader({ alg: 'ES256', kid: KID })
    .setIssuer(ISSUER)
    .setAudience(audience)
    .setSubject(user.sub)
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresInSec ?? 60))
    .sign(options.key ?? signingKey);
}

async function connectModern(server: SampleServerName, username: string, options: ConstructorParameters<typeof Client>[1] = {}): Promise<Client> {
  const client = new Client({ name: 'sample-servers-test', version: '1.0.0' }, { ...options, versionNegotiation: { mode: 'auto' } });
  const headers = { Authorization: `Bearer ${await mint(username, server)}` };
  await client.connect(new StreamableHTTPClientTransport(new URL(servers[server].url), { requestInit: { headers } }));
  openClients.push(client);
  return client;
}

async function connectLegacy(server: SampleServerName, username: string): Promise<V1Client> {
  const client = new V1Client({ name: 'sample-servers-test-v1', version: '1.0.0' });
  const headers = { Authorization: `Bearer ${await mint(username, server)}` };
  await client.connect(new V1Transport(new URL(servers[server].url), { requestInit: { headers } }));
  openClients.push(client);
  return client;
}

/** Calls a tool and returns the result's structuredContent, failing the test on an isError result. */
async function callOk<T>(client: Client, name: string, args: Record<string, unknown>): Promise<T> {
  const result = await client.callTool({ name, arguments: args });
  expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
  expect(result.structuredContent).toBeDefined();
  return result.structuredContent as T;
}

function textOf(result: CallToolResult): string {
  return result.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
}

/** A 2026-07-28-shaped request for raw HTTP probes; the bearer gate answers before it is read. */
async function postRaw(server: SampleServerName, authorization?: string, signal?: AbortSignal): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  if (authorization !== undefined) headers.authorization = authorization;
  return fetch(servers[server].url, {
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    signal,
  });
}

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

beforeAll(async () => {
  const gateway = await generateKeyPair('ES256');
  signingKey = gateway.privateKey;
  forgerKey = (await generateKeyPair('ES256')).privateKey;
  const keys = createLocalJWKSet({ keys: [{ ...(await exportJWK(gateway.publicKey)), kid: KID, alg: 'ES256' }] });
  servers = await startSampleServers({ issuer: ISSUER, keys });
});

afterEach(async () => {
  await Promise.all(openClients.splice(0).map((client) => client.close()));
});

afterAll(async () => {
  await closeSampleServers(servers);
});

describe('tool catalogue', () => {
  const expected: Record<SampleServerName, { read: string[]; write: string[] }> = {
    hr: { read: ['list_employees', 'get_employee'], write: ['delete_employee', 'update_salary'] },
    finance: { read: ['list_invoices', 'list_budgets'], write: ['delete_invoice', 'approve_budget'] },
    sales: { read: ['list_customers', 'list_deals'], write: ['close_deal'] },
    support: { read: ['list_tickets'], write: ['close_ticket'] },
  };

  it.each(Object.keys(expected) as SampleServerName[])('%s lists its tools with the right annotations over 2026-07-28', async (name) => {
    const client = await connectModern(name, 'eve.thompson');
    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    expect(client.getServerVersion()?.name).toBe(`sample-${name}`);

    const { tools } = await client.listTools();
    const byName = new Map(tools.map((tool) => [tool.name, tool]));
    expect([...byName.keys()].sort()).toEqual([...expected[name].read, ...expected[name].write].sort());
    for (const tool of expected[name].read) {
      expect(byName.get(tool)?.annotations).toEqual({ readOnlyHint: true });
    }
    for (const tool of expected[name].write) {
      expect(byName.get(tool)?.annotations).toEqual({ readOnlyHint: false, destructiveHint: true });
    }
    for (const tool of tools) {
      expect(tool.description?.length).toBeGreaterThan(20);
      expect(tool.outputSchema?.type).toBe('object');
    }
  });

  it('serves a 2025-era client (SDK v1) from the same definitions', async () => {
    const client = await connectLegacy('hr', 'alice.chen');
    expect(client.getServerVersion()?.name).toBe('sample-hr');
    const { tools } = await client.listTools();
    expect(tools.find((tool) => tool.name === 'delete_employee')?.annotations).toEqual({ readOnlyHint: false, destructiveHint: true });

    const result = await client.callTool({ name: 'get_employee', arguments: { employeeId: 'E-1002' } });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ id: 'E-1002', name: 'Alice Chen', email: 'alice.chen@example.com', department: 'HR' });
  });
});

describe('hr row-level rules and pagination', () => {
  it('lets hr-read page through every employee with nextCursor', async () => {
    const client = await connectModern('hr', 'alice.chen');
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await callOk<Page<'employees', EmployeeSummary>>(client, 'list_employees', cursor === undefined ? { limit: 25 } : { limit: 25, cursor });
      expect(page.employees.length).toBeLessThanOrEqual(25);
      expect(Object.keys(page.employees[0]!).sort()).toEqual(['department', 'email', 'id', 'managerId', 'name', 'title']);
      seen.push(...page.employees.map((employee) => employee.id));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== undefined);

    const all = [...servers.hr.controls.data.employees.keys()];
    expect(all.length).toBeGreaterThan(50);
    expect(pages).toBe(Math.ceil(all.length / 25));
    expect(seen).toEqual(all);
  });

  it('defaults to 20 per page, filters by department and rejects a bad cursor', async () => {
    const client = await connectModern('hr', 'alice.chen');
    const first = await callOk<Page<'employees', EmployeeSummary>>(client, 'list_employees', {});
    expect(first.employees).toHaveLength(20);
    expect(typeof first.nextCursor).toBe('string');

    const hr = await callOk<Page<'employees', EmployeeSummary>>(client, 'list_employees', { department: 'HR', limit: 100 });
    expect(hr.employees.length).toBeGreaterThan(1);
    expect(hr.employees.every((employee) => employee.department === 'HR')).toBe(true);
    expect(hr.nextCursor).toBeUndefined();

    const bad = await client.callTool({ name: 'list_employees', arguments: { cursor: 'not-a-cursor' } });
    expect(bad.isError).toBe(true);
    expect(textOf(bad)).toMatch(/invalid cursor/i);
  });

  it('shows a plain employee only themself and their direct reports', async () => {
    const client = await connectModern('hr', 'frank.lee');
    const { employees } = await callOk<Page<'employees', EmployeeSummary>>(client, 'list_employees', { limit: 100 });
    const frank = employees.find((employee) => employee.email === 'frank.lee@example.com');
    expect(frank).toMatchObject({ id: 'E-1006', managerId: 'E-1007' });
    const reports = employees.filter((employee) => employee.id !== 'E-1006');
    expect(reports.length).toBeGreaterThan(0);
    expect(reports.every((employee) => employee.managerId === 'E-1006')).toBe(true);
    const expectedReports = [...servers.hr.controls.data.employees.values()].filter((employee) => employee.managerId === 'E-1006');
    expect(reports.map((employee) => employee.id)).toEqual(expectedReports.map((employee) => employee.id));

    const own = await callOk<Employee>(client, 'get_employee', { employeeId: 'E-1006' });
    expect(own.salary).toBeGreaterThan(0);
    const ceo = await client.callTool({ name: 'get_employee', arguments: { employeeId: 'E-1001' } });
    expect(ceo.isError).toBe(true);
    expect(textOf(ceo)).toMatch(/E-1001 not found/);
  });

  it('lets an hr-write user delete an employee, observed in the data and by a following read', async () => {
    const client = await connectModern('hr', 'alice.chen');
    const victim = 'E-1060';
    expect(servers.hr.controls.data.employees.has(victim)).toBe(true);
    const callsBefore = servers.hr.controls.toolCallCount('delete_employee');

    const deleted = await callOk<{ employeeId: string; deleted: boolean }>(client, 'delete_employee', { employeeId: victim });
    expect(deleted).toMatchObject({ employeeId: victim, deleted: true });
    expect(servers.hr.controls.data.employees.has(victim)).toBe(false);
    expect(servers.hr.controls.toolCallCount('delete_employee')).toBe(callsBefore + 1);

    const after = await client.callTool({ name: 'get_employee', arguments: { employeeId: victim } });
    expect(after.isError).toBe(true);
    expect(textOf(after)).toMatch(/not found/);
  });

  it('refuses write tools to callers without hr-write, inside the server', async () => {
    const target = 'E-1013';
    const frank = await connectModern('hr', 'frank.lee');
    const denied = await frank.callTool({ name: 'delete_employee', arguments: { employeeId: target } });
    expect(denied.isError).toBe(true);
    expect(textOf(denied)).toMatch(/not permitted/i);
    expect(servers.hr.controls.data.employees.has(target)).toBe(true);

    const salaryBefore = servers.hr.controls.data.employees.get(target)?.salary;
    const bob = await connectLegacy('hr', 'bob.martinez');
    const raise = await bob.callTool({ name: 'update_salary', arguments: { employeeId: target, salary: 999_000 } });
    expect(raise.isError).toBe(true);
    expect(servers.hr.controls.data.employees.get(target)?.salary).toBe(salaryBefore);
  });

  it('updates a salary for an hr-write user and answers unknown ids with isError', async () => {
    const client = await connectModern('hr', 'alice.chen');
    const updated = await callOk<{ employeeId: string; salary: number }>(client, 'update_salary', { employeeId: 'E-1020', salary: 123_456 });
    expect(updated).toMatchObject({ employeeId: 'E-1020', salary: 123_456 });
    expect(servers.hr.controls.data.employees.get('E-1020')?.salary).toBe(123_456);

    const unknown = await client.callTool({ name: 'update_salary', arguments: { employeeId: 'E-9999', salary: 50_000 } });
    expect(unknown.isError).toBe(true);
    expect(textOf(unknown)).toMatch(/E-9999 not found/);
  });
});

describe('finance, sales and support', () => {
  it('finance: approves a draft budget for finance-write and shows nothing to outsiders', async () => {
    const bob = await connectModern('finance', 'bob.martinez');
    const { budgets } = await callOk<Page<'budgets', Budget>>(bob, 'list_budgets', { department: 'Sales', limit: 100 });
    const draft = budgets.find((budget) => budget.status === 'draft');
    if (draft === undefined) throw new Error('the seed has no draft Sales budget');

    const approved = await callOk<Budget>(bob, 'approve_budget', { budgetId: draft.id });
    expect(approved).toMatchObject({ id: draft.id, status: 'approved', approvedBy: 'bob.martinez@example.com' });
    expect(servers.finance.controls.data.budgets.get(draft.id)?.status).toBe('approved');

    const frank = await connectModern('finance', 'frank.lee');
    expect((await callOk<Page<'invoices', Invoice>>(frank, 'list_invoices', {})).invoices).toEqual([]);
  });

  it('sales: closes an open deal once', async () => {
    const carol = await connectModern('sales', 'carol.nguyen');
    const { deals } = await callOk<Page<'deals', Deal>>(carol, 'list_deals', { stage: 'negotiation' });
    const deal = deals[0];
    if (deal === undefined) throw new Error('the seed has no deal in negotiation');
    expect(deal.stage).toBe('negotiation');

    expect(await callOk<Deal>(carol, 'close_deal', { dealId: deal.id, outcome: 'won' })).toMatchObject({ id: deal.id, stage: 'won' });
    expect(servers.sales.controls.data.deals.get(deal.id)?.stage).toBe('won');
    const again = await carol.callTool({ name: 'close_deal', arguments: { dealId: deal.id, outcome: 'lost' } });
    expect(again.isError).toBe(true);
    expect(textOf(again)).toMatch(/already closed/);
  });

  it('support: an employee sees only the tickets they reported; support staff see all', async () => {
    const frank = await connectModern('support', 'frank.lee');
    const mine = (await callOk<Page<'tickets', Ticket>>(frank, 'list_tickets', { limit: 100 })).tickets;
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((ticket) => ticket.reporterEmail === 'frank.lee@example.com')).toBe(true);

    const dan = await connectModern('support', 'dan.okafor');
    const all = (await callOk<Page<'tickets', Ticket>>(dan, 'list_tickets', { limit: 100 })).tickets;
    expect(all).toHaveLength(servers.support.controls.data.tickets.size);

    const open = all.find((ticket) => ticket.status === 'open');
    if (open === undefined) throw new Error('the seed has no open ticket');
    const closed = await callOk<Ticket>(dan, 'close_ticket', { ticketId: open.id, resolution: 'Replaced the docking station.' });
    expect(closed).toMatchObject({ id: open.id, status: 'closed', resolution: 'Replaced the docking station.' });
    expect(servers.support.controls.data.tickets.get(open.id)?.status).toBe('closed');
  });
});

describe('identity assertion gate', () => {
  const cases: [string, () => Promise<string | undefined>][] = [
    ['missing', () => Promise.resolve(undefined)],
    ['forged (signed by another key)', async () => `Bearer ${await mint('alice.chen', 'hr', { key: forgerKey })}`],
    ['expired', async () => `Bearer ${await mint('alice.chen', 'hr', { expiresInSec: -120 })}`],
    ['for another server (wrong audience)', async () => `Bearer ${await mint('alice.chen', 'finance')}`],
    ['not a JWT', () => Promise.resolve('Bearer not.a.jwt')],
  ];

  it.each(cases)('answers 401 invalid_token to a %s assertion before any MCP handling', async (_label, authorization) => {
    const requestsBefore = servers.hr.controls.requestCount();
    const response = await postRaw('hr', await authorization());
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body.error).toBe('invalid_token');
    expect(typeof body.error_description).toBe('string');
    expect(servers.hr.controls.requestCount()).toBe(requestsBefore + 1);
  });

  it('accepts a valid assertion on the same raw request', async () => {
    const response = await postRaw('hr', `Bearer ${await mint('alice.chen', 'hr')}`);
    expect(response.status).toBe(200);
    await response.body?.cancel();
  });

  it('makes the official client fail to connect without a valid assertion', async () => {
    const client = new Client({ name: 'no-auth', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    await expect(client.connect(new StreamableHTTPClientTransport(new URL(servers.hr.url)))).rejects.toThrow(/401|authoriz/i);
  });
});

describe('test controls', () => {
  it('failNext makes the next request answer 503 with Retry-After, then serves normally', async () => {
    const client = await connectModern('hr', 'alice.chen');
    servers.hr.controls.failNext(1, 503, 2);

    const failed = await postRaw('hr', `Bearer ${await mint('alice.chen', 'hr')}`);
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).toBe('2');
    await failed.body?.cancel();

    const employee = await callOk<Employee>(client, 'get_employee', { employeeId: 'E-1002' });
    expect(employee.id).toBe('E-1002');
  });

  it('failNext fails a tools/call of the official client without reaching the tool', async () => {
    const client = await connectModern('hr', 'alice.chen');
    const callsBefore = servers.hr.controls.toolCallCount('get_employee');
    servers.hr.controls.failNext(1, 502);
    await expect(client.callTool({ name: 'get_employee', arguments: { employeeId: 'E-1002' } })).rejects.toThrow(/502/);
    expect(servers.hr.controls.toolCallCount('get_employee')).toBe(callsBefore);
  });

  it('hangNext leaves the next request unanswered while later ones are served', async () => {
    servers.hr.controls.hangNext(1);
    const requestsBefore = servers.hr.controls.requestCount();
    const abort = new AbortController();
    let settled = false;
    const hung = postRaw('hr', `Bearer ${await mint('alice.chen', 'hr')}`, abort.signal).finally(() => {
      settled = true;
    });
    await waitFor(() => servers.hr.controls.requestCount() === requestsBefore + 1);

    const served = await postRaw('hr', `Bearer ${await mint('alice.chen', 'hr')}`);
    expect(served.status).toBe(200);
    await served.body?.cancel();
    expect(settled).toBe(false);

    abort.abort();
    await expect(hung).rejects.toThrow(/abort/i);
  });

  it('hangNextToolCalls leaves the next tools/call unanswered while other requests, tools/list included, are served', async () => {
    const client = await connectModern('hr', 'alice.chen');
    servers.hr.controls.hangNextToolCalls(1);
    // Requests that are not tool calls pass the planned hang by.
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
    const callsBefore = servers.hr.controls.toolCallCount('get_employee');
    const abort = new AbortController();
    let settled = false;
    const hung = client.callTool({ name: 'get_employee', arguments: { employeeId: 'E-1002' } }, { signal: abort.signal }).finally(() => {
      settled = true;
    });
    // The next call is served: the hang was used up by the first.
    const served = await client.callTool({ name: 'get_employee', arguments: { employeeId: 'E-1002' } });
    expect(served.isError).not.toBe(true);
    expect(settled).toBe(false);
    expect(servers.hr.controls.toolCallCount('get_employee')).toBe(callsBefore + 1);
    abort.abort();
    await expect(hung).rejects.toThrow(/abort/i);
  });

  it('redefineTool changes tools/list and notifies listening clients', async () => {
    const description = 'List employees. (Redefined by the test.)';
    const client = await connectModern('support', 'dan.okafor');
    let notified!: () => void;
    const notification = new Promise<void>((resolve) => (notified = resolve));
    client.setNotificationHandler('notifications/tools/list_changed', () => notified());
    await client.listen({ toolsListChanged: true });

    servers.support.controls.redefineTool('list_tickets', { description });
    await notification;

    const { tools } = await client.listTools();
    expect(tools.find((tool) => tool.name === 'list_tickets')?.description).toBe(description);
    const legacy = await connectLegacy('support', 'dan.okafor');
    expect((await legacy.listTools()).tools.find((tool) => tool.name === 'list_tickets')?.description).toBe(description);

    expect(() => servers.support.controls.redefineTool('no_such_tool', { description })).toThrow(/no tool named/);
  });
});
