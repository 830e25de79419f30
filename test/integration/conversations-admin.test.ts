/**
 * Conversations as a user sees them (list, transcript, rename, delete; owner-only) and the admin
 * view's data (overview, audit query over the bounded store stream), against a real gateway, dev
 * issuer, sample servers and simulated model.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startGateway, startTestStack, testConfig, waitFor, type RunningGateway, type TestStack } from '../helpers/stack.js';
import { collectRun } from '../helpers/sse.js';
import { startRun } from './runs-support.js';

const INVOICES = 'Analyze revenue: list the invoices';

interface TranscriptTurn {
  question: string;
  items: Array<{ type: string }>;
}
const idsOf = (body: { conversations: Array<{ id: string }> }): string[] => body.conversations.map((item) => item.id);

let stack: TestStack;
let gw: RunningGateway;
let alice: string;
let bob: string;
let admin: string;

beforeAll(async () => {
  stack = await startTestStack({ firstTokenMs: 0, tokenDelayMs: 0 });
  gw = await startGateway(testConfig(stack, { runs: { detachGraceMs: 60_000 } }));
  alice = await stack.issuer.tokenFor('alice.chen');
  bob = await stack.issuer.tokenFor('bob.martinez');
  admin = await stack.issuer.tokenFor('ops.admin');
});

afterAll(async () => {
  await gw?.close();
  await stack?.close();
});

async function ask(token: string, query: string, conversationId?: string): Promise<string> {
  const frames = await collectRun(await startRun(gw.url, token, conversationId === undefined ? { query } : { query, conversationId }));
  expect(frames.at(-1)).toMatchObject({ event: 'done', data: { status: 'completed' } });
  return frames[0]?.data.conversationId as string;
}

describe('conversations', () => {
  it('a finished question is listed for its owner and reads back as a transcript in order', async () => {
    const id = await ask(bob, INVOICES);
    const list = await api(`${gw.url}/api/conversations`, { token: bob });
    expect(list.status).toBe(200);
    expect(list.body.conversations).toContainEqual(expect.objectContaining({ id, title: INVOICES, turns: 1 }));
    const one = await api(`${gw.url}/api/conversations/${id}`, { token: bob });
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id, title: INVOICES, turns: 1 });
    const [turn] = one.body.transcript as TranscriptTurn[];
    expect(turn?.question).toBe(INVOICES);
    const kinds = turn?.items.map((item) => item.type);
    // The model's words come after the tool it used, and the tool is named as the catalogue names it.
    expect(kinds?.at(-1)).toBe('text');
    expect(turn?.items).toContainEqual(expect.objectContaining({ type: 'tool', server: 'finance', tool: 'list_invoices', outcome: 'done' }));
    expect(JSON.stringify(turn?.items)).not.toContain('finance__');
  });

  it('someone else’s conversation is 404 for every verb, and stays out of their list', async () => {
    const id = await ask(bob, INVOICES);
    for (const [method, body] of [['GET', undefined], ['PATCH', { title: 'mine now' }], ['DELETE', undefined]] as const) {
      const response = await api(`${gw.url}/api/conversations/${id}`, { token: alice, method, body });
      expect(response.status, method).toBe(404);
      expect(response.body.error.code).toBe('REQ_4004');
    }
    const list = await api(`${gw.url}/api/conversations`, { token: alice });
    expect(idsOf(list.body)).not.toContain(id);
    expect((await api(`${gw.url}/api/conversations/${id}`, { token: bob })).status).toBe(200);
  });

  it('is renamed, keeps its name through a follow-up, and is deleted', async () => {
    const id = await ask(bob, INVOICES);
    const renamed = await api(`${gw.url}/api/conversations/${id}`, { token: bob, method: 'PATCH', body: { title: '  Q3 revenue  ' } });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ id, title: 'Q3 revenue' });
    await ask(bob, 'now list the budgets', id);
    const after = await api(`${gw.url}/api/conversations/${id}`, { token: bob });
    expect(after.body).toMatchObject({ title: 'Q3 revenue', turns: 2 });
    expect((after.body.transcript as TranscriptTurn[]).map((turn) => turn.question)).toEqual([INVOICES, 'now list the budgets']);
    const deleted = await api(`${gw.url}/api/conversations/${id}`, { token: bob, method: 'DELETE' });
    expect(deleted.status).toBe(204);
    expect((await api(`${gw.url}/api/conversations/${id}`, { token: bob })).status).toBe(404);
    const list = await api(`${gw.url}/api/conversations`, { token: bob });
    expect(idsOf(list.body)).not.toContain(id);
    // A follow-up in a deleted conversation is refused like any unknown one.
    const refused = await api(`${gw.url}/api/query`, { token: bob, body: { query: 'hi', conversationId: id } });
    expect(refused.status).toBe(404);
  });

  it('bad input is a catalogued 400; no token is 401', async () => {
    const id = await ask(bob, INVOICES);
    const cases: Array<[string, string, unknown]> = [
      ['PATCH', id, { title: '' }],
      ['PATCH', id, { title: '   ' }],
      ['PATCH', id, { title: 'x'.repeat(201) }],
      ['PATCH', id, { title: 'ok', extra: 1 }],
      ['PATCH', id, { title: 7 }],
      ['GET', 'not-an-id', undefined],
      ['DELETE', 'not-an-id', undefined],
    ];
    for (const [method, target, body] of cases) {
      const response = await api(`${gw.url}/api/conversations/${target}`, { token: bob, method, body });
      expect(response.status, `${method} ${JSON.stringify(body)}`).toBe(400);
      expect(response.body.error.code).toBe('REQ_4000');
    }
    expect((await api(`${gw.url}/api/conversations`)).status).toBe(401);
    expect((await api(`${gw.url}/api/conversations/${randomUUID()}`, { token: bob })).status).toBe(404);
  });

  it('a rejected confirmation reads back as declined, not failed', async () => {
    const connection = await startRun(gw.url, alice, { query: 'delete employee E-1042' });
    const frames = await collectRun(connection, (frame) => frame.event === 'confirmation_required' || frame.event === 'done');
    const card = frames.at(-1);
    expect(card?.event).toBe('confirmation_required');
    const decided = await api(`${gw.url}/api/confirmations/${card?.data.confirmationId}`, { token: alice, body: { decision: 'reject' } });
    expect(decided.status).toBe(200);
    const rest = await collectRun(connection);
    expect(rest.at(-1)).toMatchObject({ event: 'done', data: { status: 'completed' } });
    const id = frames[0]?.data.conversationId as string;
    const one = await api(`${gw.url}/api/conversations/${id}`, { token: alice });
    expect(one.body.transcript[0].items).toContainEqual(expect.objectContaining({ type: 'tool', server: 'hr', tool: 'delete_employee', outcome: 'declined', arguments: { employeeId: 'E-1042' } }));
  });
});

describe('admin', () => {
  it('the overview shows the readiness matrix, each upstream with its circuit, and pins; only to admins', async () => {
    const overview = await api(`${gw.url}/api/admin/overview`, { token: admin });
    expect(overview.status).toBe(200);
    expect(Object.keys(overview.body.readiness.checks)).toEqual(expect.arrayContaining(['store', 'issuer', 'upstream:hr', 'upstream:finance']));
    const upstreams = overview.body.upstreams as Array<{ name: string; tools: number }>;
    expect(upstreams.map((server) => server.name).sort()).toEqual(['finance', 'hr', 'sales', 'support']);
    const hr = upstreams.find((server) => server.name === 'hr');
    expect(hr).toMatchObject({ ok: true, circuit: 'closed', url: stack.servers.hr.url });
    expect(hr?.tools).toBeGreaterThan(0);
    expect(overview.body).toMatchObject({ pinning: 'log', pinChanges: [] });
    const refused = await api(`${gw.url}/api/admin/overview`, { token: alice });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('AUTH_1004');
  });

  it('the audit query returns recent records newest first, filtered by user, tool and decision', async () => {
    await ask(bob, INVOICES);
    await waitFor(async () => (await api(`${gw.url}/api/admin/audit?user=bob.martinez&tool=list_invoices`, { token: admin })).body.records.length > 0, { what: 'bob’s audit record' });
    const byUser = await api(`${gw.url}/api/admin/audit?user=bob.martinez`, { token: admin });
    expect(byUser.status).toBe(200);
    const records = byUser.body.records as Array<{ username: string; at: string; tool: string; server: string; decision: string }>;
    expect(records.every((record) => record.username === 'bob.martinez')).toBe(true);
    const times = records.map((record) => Date.parse(record.at));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    const byTool = await api(`${gw.url}/api/admin/audit?tool=finance.list_invoices&decision=allow&limit=1`, { token: admin });
    expect(byTool.body.records).toHaveLength(1);
    expect(byTool.body.records[0]).toMatchObject({ server: 'finance', tool: 'list_invoices', decision: 'allow', event: 'tool_call' });
    const none = await api(`${gw.url}/api/admin/audit?user=bob.martinez&decision=deny`, { token: admin });
    expect(none.body.records).toEqual([]);
    // The sub matches as well as the username.
    const sub = (await api(`${gw.url}/api/me`, { token: bob })).body.sub as string;
    expect((await api(`${gw.url}/api/admin/audit?user=${sub}&limit=1`, { token: admin })).body.records[0]).toMatchObject({ username: 'bob.martinez' });
  });

  it('the audit query refuses bad filters (400) and non-admins (403)', async () => {
    for (const query of ['limit=0', 'limit=501', 'limit=abc', 'decision=ALLOW', 'nope=1', 'user=']) {
      const response = await api(`${gw.url}/api/admin/audit?${query}`, { token: admin });
      expect(response.status, query).toBe(400);
      expect(response.body.error.code).toBe('REQ_4000');
    }
    expect((await api(`${gw.url}/api/admin/audit`, { token: bob })).status).toBe(403);
    expect((await api(`${gw.url}/api/admin/audit`)).status).toBe(401);
  });

  it('keeps no audit records when recentRecords is 0', async () => {
    const none = await startGateway(testConfig(stack, { audit: { recentRecords: 0 } }));
    try {
      await collectRun(await startRun(none.url, bob, { query: INVOICES }));
      const response = await api(`${none.url}/api/admin/audit`, { token: admin });
      expect(response.body.records).toEqual([]);
    } finally {
      await none.close();
    }
  });
});
