/**
 * The direct tool API (issue 4) against the real sample servers and a real Redis: listing, calling,
 * policy denials, argument validation before any upstream call, human confirmations (approve,
 * reject, double approval, other users, expiry, policy re-check) and tool pinning.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDemoUser } from '../../src/dev/demo-users.js';
import { DEV_CLIENT_ID } from '../../src/dev/dev-issuer.js';
import { api, redisStore, startGateway, startTestStack, testConfig, waitFor, type RunningGateway, type TestStack } from '../helpers/stack.js';

interface ToolView {
  name: string;
  server: string;
  qualifiedName: string;
  readOnly: boolean;
  requiresConfirmation: boolean;
}

interface ServerView {
  name: string;
  available: boolean;
  tools: ToolView[];
}

let stack: TestStack;
let gw: RunningGateway;
/** A second replica sharing gw's Redis keys, as behind a load balancer. */
let replica: RunningGateway;
let alice: string;
let bob: string;

beforeAll(async () => {
  stack = await startTestStack();
  const store = redisStore('tool-api');
  [gw, replica] = await Promise.all([startGateway(testConfig(stack, { store })), startGateway(testConfig(stack, { store }))]);
  [alice, bob] = await Promise.all([stack.issuer.tokenFor('alice.chen'), stack.issuer.tokenFor('bob.martinez')]);
});

afterAll(async () => {
  await Promise.all([gw?.close(), replica?.close()]);
  await stack?.close();
});

const hr = () => stack.servers.hr.controls;
const callTool = (server: string, tool: string, token: string, args: unknown = {}) =>
  api(`${gw.url}/api/tools/${server}/${tool}`, { token, body: { arguments: args } });

describe('listing and reading', () => {
  it('GET /api/me lists hr and support with the right flags, and not finance', async () => {
    const me = await api(`${gw.url}/api/me`, { token: alice });
    expect(me.status).toBe(200);
    expect(me.body.username).toBe('alice.chen');
    const servers = me.body.servers as ServerView[];
    expect(servers.map((server) => server.name)).toEqual(['hr', 'support']);

    const hrTools = new Map(servers[0]!.tools.map((tool) => [tool.name, tool]));
    expect(servers[0]!.available).toBe(true);
    expect(hrTools.get('list_employees')).toMatchObject({ qualifiedName: 'hr__list_employees', readOnly: true, requiresConfirmation: false });
    expect(hrTools.get('get_employee')).toMatchObject({ readOnly: true, requiresConfirmation: false });
    expect(hrTools.get('delete_employee')).toMatchObject({ readOnly: false, requiresConfirmation: true });
    expect(hrTools.get('update_salary')).toMatchObject({ readOnly: false, requiresConfirmation: true });

    // close_ticket needs support-write, which alice lacks: not listed at all.
    expect(servers[1]!.tools.map((tool) => tool.name)).toEqual(['list_tickets']);
  });

  it('GET /api/tools lists exactly the tools alice may call', async () => {
    const list = await api(`${gw.url}/api/tools`, { token: alice });
    expect(list.status).toBe(200);
    const names = (list.body.tools as ToolView[]).map((tool) => tool.qualifiedName);
    expect(names).toContain('hr__delete_employee');
    expect(names).toContain('support__list_tickets');
    expect(names.some((name) => name.startsWith('finance__'))).toBe(false);
    expect(names).not.toContain('support__close_ticket');
  });

  it('HR read success: alice lists employees and gets data', async () => {
    const before = hr().toolCallCount('list_employees');
    const response = await callTool('hr', 'list_employees', alice, { department: 'HR', limit: 3 });
    expect(response.status).toBe(200);
    expect(response.body.result.isError).not.toBe(true);
    const employees = response.body.result.structuredContent.employees as { id: string; department: string }[];
    expect(employees).toHaveLength(3);
    expect(employees.every((employee) => employee.department === 'HR')).toBe(true);
    expect(employees[0]!.id).toBe('E-1002');
    expect(hr().toolCallCount('list_employees')).toBe(before + 1);
  });

  it('requires a token', async () => {
    const response = await api(`${gw.url}/api/tools/hr/list_employees`, { body: { arguments: {} } });
    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe('AUTH_1001');
  });
});

describe('refusals', () => {
  it('cross-domain: alice → finance/list_invoices answers like an unknown server (404 MCP_2004), so names do not leak', async () => {
    const before = stack.servers.finance.controls.toolCallCount('list_invoices');
    const response = await callTool('finance', 'list_invoices', alice);
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('MCP_2004');
    expect(response.body.error.message).toBe((await callTool('payroll', 'list_invoices', alice)).body.error.message);
    expect(stack.servers.finance.controls.toolCallCount('list_invoices')).toBe(before);
  });

  it('unknown server → 404 MCP_2004, unknown tool → 404 MCP_2005', async () => {
    const server = await callTool('payroll', 'list_employees', alice);
    expect(server.status).toBe(404);
    expect(server.body.error.code).toBe('MCP_2004');
    const tool = await callTool('hr', 'fire_everyone', alice);
    expect(tool.status).toBe(404);
    expect(tool.body.error.code).toBe('MCP_2005');
  });

  it('invalid arguments → 400 MCP_2006 with schema errors, and no upstream request', async () => {
    const requests = hr().requestCount();
    const calls = hr().toolCallCount('get_employee');

    const wrongType = await callTool('hr', 'get_employee', alice, { employeeId: 1042 });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.error.code).toBe('MCP_2006');
    expect(wrongType.body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: '/employeeId', keyword: 'type' })]));

    const missing = await callTool('hr', 'get_employee', alice, {});
    expect(missing.status).toBe(400);
    expect(missing.body.error.code).toBe('MCP_2006');
    expect(missing.body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ keyword: 'required' })]));

    // A write is validated before a confirmation is ever created.
    const badWrite = await callTool('hr', 'update_salary', alice, { employeeId: 'E-1042', salary: 'lots' });
    expect(badWrite.status).toBe(400);
    expect(badWrite.body.error.code).toBe('MCP_2006');

    expect(hr().requestCount()).toBe(requests);
    expect(hr().toolCallCount('get_employee')).toBe(calls);
  });

  it('refuses prototype-pollution keys inside the arguments', async () => {
    const requests = hr().requestCount();
    const constructorKey = await api(`${gw.url}/api/tools/hr/list_employees`, {
      token: alice,
      body: '{"arguments":{"department":"HR","nested":{"constructor":{"name":"x"}}}}',
    });
    expect(constructorKey.status).toBe(400);
    expect(constructorKey.body.error.code).toBe('MCP_2006');
    expect(constructorKey.body.error.details).toEqual([expect.objectContaining({ path: '/nested/constructor' })]);

    // Written as raw JSON: an object literal would swallow `__proto__` before it is ever sent.
    const protoKey = await api(`${gw.url}/api/tools/hr/list_employees`, { token: alice, body: '{"arguments":{"__proto__":{"isAdmin":true}}}' });
    expect(protoKey.status).toBe(400);
    expect(protoKey.body.error.code).toMatch(/^(REQ_4000|REQ_4001|MCP_2006)$/);
    expect(hr().requestCount()).toBe(requests);
  });

  it('malformed bodies → 400', async () => {
    const notJson = await api(`${gw.url}/api/tools/hr/list_employees`, { token: alice, body: '{"arguments": {' });
    expect(notJson.status).toBe(400);
    expect(notJson.body.error.code).toBe('REQ_4001');

    const notAnObject = await callTool('hr', 'list_employees', alice, 'everyone');
    expect(notAnObject.status).toBe(400);
    expect(notAnObject.body.error.code).toMatch(/^REQ_4000|MCP_2006$/);

    const arrayArguments = await callTool('hr', 'list_employees', alice, [1, 2]);
    expect(arrayArguments.status).toBe(400);

    const unknownField = await api(`${gw.url}/api/tools/hr/list_employees`, { token: alice, body: { arguments: {}, runAs: 'eve.thompson' } });
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.error.code).toBe('REQ_4000');
  });
});

describe('confirmations', () => {
  const decide = (id: string, token: string, decision: 'approve' | 'reject') => api(`${gw.url}/api/confirmations/${id}`, { token, body: { decision } });

  it('confirmation approve: pending → nothing deleted → approve runs it → a read shows the write', async () => {
    const pending = await callTool('hr', 'delete_employee', alice, { employeeId: 'E-1042' });
    expect(pending.status).toBe(202);
    const confirmation = pending.body.confirmation;
    expect(confirmation).toMatchObject({ server: 'hr', tool: 'delete_employee', arguments: { employeeId: 'E-1042' } });
    expect(typeof confirmation.id).toBe('string');
    expect(Date.parse(confirmation.expiresAt)).toBeGreaterThan(Date.now());
    expect(hr().data.employees.has('E-1042')).toBe(true);
    expect(hr().toolCallCount('delete_employee')).toBe(0);

    const shown = await api(`${gw.url}/api/confirmations/${confirmation.id}`, { token: alice });
    expect(shown.status).toBe(200);
    expect(shown.body.confirmation).toMatchObject({ id: confirmation.id, tool: 'delete_employee' });

    const approved = await decide(confirmation.id, alice, 'approve');
    expect(approved.status).toBe(200);
    expect(approved.body.result.structuredContent).toEqual({ employeeId: 'E-1042', name: 'Hana Eriksen', deleted: true });
    expect(hr().data.employees.has('E-1042')).toBe(false);

    const read = await callTool('hr', 'get_employee', alice, { employeeId: 'E-1042' });
    expect(read.status).toBe(200);
    expect(read.body.result.isError).toBe(true);
    expect(read.body.result.content[0].text).toMatch(/not found/);

    // Single use: the decided confirmation cannot be decided again.
    const again = await decide(confirmation.id, alice, 'approve');
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('CONFIRM_5002');
  });

  it('confirmation reject: pending → rejected, nothing written', async () => {
    const salaryBefore = hr().data.employees.get('E-1043')?.salary;
    const callsBefore = hr().toolCallCount('update_salary');
    const pending = await callTool('hr', 'update_salary', alice, { employeeId: 'E-1043', salary: 999_000 });
    expect(pending.status).toBe(202);
    const rejected = await decide(pending.body.confirmation.id, alice, 'reject');
    expect(rejected.status).toBe(200);
    expect(rejected.body).toEqual({ status: 'rejected' });
    expect(hr().toolCallCount('update_salary')).toBe(callsBefore);
    expect(hr().data.employees.get('E-1043')?.salary).toBe(salaryBefore);

    const gone = await api(`${gw.url}/api/confirmations/${pending.body.confirmation.id}`, { token: alice });
    expect(gone.status).toBe(409);
    expect(gone.body.error.code).toBe('CONFIRM_5002');
  });

  it('concurrent approvals on two replicas execute the call once; every loser gets 409', async () => {
    // Repeated: the losers' timing against the winner's take differs from round to round.
    for (let round = 0; round < 15; round += 1) {
      const before = hr().toolCallCount('update_salary');
      const salary = 120_000 + round;
      const pending = await callTool('hr', 'update_salary', alice, { employeeId: 'E-1044', salary });
      expect(pending.status).toBe(202);
      const id = pending.body.confirmation.id as string;
      const answers = await Promise.all(
        [gw, replica, gw, replica].map((target) => api(`${target.url}/api/confirmations/${id}`, { token: alice, body: { decision: 'approve' } })),
      );
      expect(answers.map((answer) => answer.status).sort()).toEqual([200, 409, 409, 409]);
      const winner = answers.find((answer) => answer.status === 200)!;
      expect(winner.body.result.structuredContent).toMatchObject({ employeeId: 'E-1044', salary });
      for (const loser of answers.filter((answer) => answer.status === 409)) expect(loser.body.error.code).toBe('CONFIRM_5002');
      expect(hr().toolCallCount('update_salary')).toBe(before + 1);
    }
    expect(hr().data.employees.get('E-1044')?.salary).toBe(120_014);
  });

  it("another user can neither see nor decide alice's confirmation (404), and it stays pending", async () => {
    const pending = await callTool('hr', 'delete_employee', alice, { employeeId: 'E-1047' });
    const id = pending.body.confirmation.id as string;
    const eve = await stack.issuer.tokenFor('eve.thompson');
    for (const token of [bob, eve]) {
      const seen = await api(`${gw.url}/api/confirmations/${id}`, { token });
      expect(seen.status).toBe(404);
      expect(seen.body.error.code).toBe('CONFIRM_5001');
      const decided = await decide(id, token, 'approve');
      expect(decided.status).toBe(404);
      expect(decided.body.error.code).toBe('CONFIRM_5001');
    }
    const unknown = await api(`${gw.url}/api/confirmations/00000000-0000-4000-8000-000000000000`, { token: alice });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('CONFIRM_5001');

    expect(hr().data.employees.has('E-1047')).toBe(true);
    const stillMine = await api(`${gw.url}/api/confirmations/${id}`, { token: alice });
    expect(stillMine.status).toBe(200);
    expect((await decide(id, alice, 'reject')).status).toBe(200);
  });

  it('approval checks the policy again: a token that lost hr-write is refused and nothing runs', async () => {
    const pending = await callTool('hr', 'delete_employee', alice, { employeeId: 'E-1048' });
    expect(pending.status).toBe(202);
    const user = findDemoUser('alice.chen')!;
    const demoted = await stack.issuer.tokenFor('alice.chen', { claims: { resource_access: { [DEV_CLIENT_ID]: { roles: [] } }, sub: user.sub } });
    const before = hr().toolCallCount('delete_employee');
    const refused = await decide(pending.body.confirmation.id, demoted, 'approve');
    // The tool is now outside her roles: it answers like a tool that does not exist.
    expect(refused.status).toBe(404);
    expect(refused.body.error.code).toBe('MCP_2005');
    expect(hr().toolCallCount('delete_employee')).toBe(before);
    expect(hr().data.employees.has('E-1048')).toBe(true);
  });

  it('an expired confirmation answers 404', async () => {
    const shortLived = await startGateway(testConfig(stack, { store: redisStore('tool-api-ttl'), confirmations: { ttlMs: 300 } }));
    try {
      const pending = await api(`${shortLived.url}/api/tools/hr/delete_employee`, { token: alice, body: { arguments: { employeeId: 'E-1049' } } });
      expect(pending.status).toBe(202);
      const id = pending.body.confirmation.id as string;
      await waitFor(async () => (await api(`${shortLived.url}/api/confirmations/${id}`, { token: alice })).status === 404, { what: 'the confirmation to expire' });
      const expired = await api(`${shortLived.url}/api/confirmations/${id}`, { token: alice, body: { decision: 'approve' } });
      expect(expired.status).toBe(404);
      expect(expired.body.error.code).toBe('CONFIRM_5001');
      expect(hr().data.employees.has('E-1049')).toBe(true);
    } finally {
      await shortLived.close();
    }
  });
});

// Last in the file: redefining a tool changes the shared hr server for good.
describe('pinning', () => {
  let hiding: RunningGateway;
  let admin: string;

  beforeAll(async () => {
    hiding = await startGateway(testConfig(stack, { store: redisStore('tool-api-pins'), upstream: { pinning: 'hide' } }));
    admin = await stack.issuer.tokenFor('ops.admin');
  });
  afterAll(async () => {
    await hiding?.close();
  });

  const listed = async (url: string) => ((await api(`${url}/api/tools`, { token: alice })).body.tools as ToolView[]).map((tool) => tool.qualifiedName);

  it('flags a changed definition, hides it until an admin approves, and refuses non-admins', async () => {
    await hiding.gateway.tools.catalogue.loaded();
    expect(await listed(hiding.url)).toContain('hr__list_employees');
    const unchanged = await api(`${hiding.url}/api/admin/pins`, { token: admin });
    expect(unchanged.status).toBe(200);
    expect(unchanged.body).toEqual({ pinning: 'hide', changes: [] });

    // No explicit refresh: the server's tools/list_changed notification brings the change in.
    hr().redefineTool('list_employees', { description: 'changed' });
    await waitFor(async () => (await api(`${hiding.url}/api/admin/pins`, { token: admin })).body.changes.length === 1, { what: 'the change to be flagged' });

    const pins = await api(`${hiding.url}/api/admin/pins`, { token: admin });
    expect(pins.body.changes).toEqual([expect.objectContaining({ server: 'hr', tool: 'list_employees' })]);
    expect(pins.body.changes[0].pinnedFingerprint).not.toBe(pins.body.changes[0].currentFingerprint);

    // Hidden from listing and from calls; the other hr tools are untouched.
    const tools = await listed(hiding.url);
    expect(tools).not.toContain('hr__list_employees');
    expect(tools).toContain('hr__get_employee');
    const hidden = await api(`${hiding.url}/api/tools/hr/list_employees`, { token: alice, body: { arguments: {} } });
    expect(hidden.status).toBe(404);
    expect(hidden.body.error.code).toBe('MCP_2005');

    // Under the default `log` the change is flagged too (here through an explicit refresh), but the tool stays usable.
    await gw.gateway.tools.catalogue.refresh('hr');
    const logged = await api(`${gw.url}/api/admin/pins`, { token: admin });
    expect(logged.body.pinning).toBe('log');
    expect(logged.body.changes).toEqual([expect.objectContaining({ server: 'hr', tool: 'list_employees' })]);
    expect(await listed(gw.url)).toContain('hr__list_employees');

    // Only gateway admins see or approve pins.
    expect((await api(`${hiding.url}/api/admin/pins`, { token: alice })).status).toBe(403);
    const notAdmin = await api(`${hiding.url}/api/admin/pins/hr/list_employees/approve`, { token: alice, method: 'POST' });
    expect(notAdmin.status).toBe(403);
    expect(notAdmin.body.error.code).toBe('AUTH_1004');
    expect(await listed(hiding.url)).not.toContain('hr__list_employees');

    const unknown = await api(`${hiding.url}/api/admin/pins/hr/no_such_tool/approve`, { token: admin, method: 'POST' });
    expect(unknown.status).toBe(404);

    const approved = await api(`${hiding.url}/api/admin/pins/hr/list_employees/approve`, { token: admin, method: 'POST' });
    expect(approved.status).toBe(200);
    expect(approved.body).toEqual({ approved: true });
    expect((await api(`${hiding.url}/api/admin/pins`, { token: admin })).body.changes).toEqual([]);
    expect(await listed(hiding.url)).toContain('hr__list_employees');
    const works = await api(`${hiding.url}/api/tools/hr/list_employees`, { token: alice, body: { arguments: { limit: 1 } } });
    expect(works.status).toBe(200);
  });
});
