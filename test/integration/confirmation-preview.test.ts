/**
 * Confirmation previews (issue 12): a confirmation of hr's delete_employee / update_salary carries what
 * the id refers to, read with get_employee as the person asking, through the tool gate. Two replicas
 * share a real Redis: the preview is stored with the confirmation and reaches the other replica's view.
 * A preview tool the caller may not use, one that is not a plain read, one the server refuses, one that
 * fails or hangs: the confirmation is created all the same, without a preview.
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, redisStore, startGateway, startTestStack, testConfig, type RunningGateway, type TestStack } from '../helpers/stack.js';
import { collectRun, type SseFrame } from '../helpers/sse.js';
import { readRun, runIdOf, startRun } from './runs-support.js';

let stack: TestStack;
/** Two replicas sharing a Redis; a generous preview timeout so a busy machine does not lose the preview. */
let a: RunningGateway;
let b: RunningGateway;
/** get_employee only for executives, update_salary previewed by a tool that itself needs confirmation, a short timeout. */
let restricted: RunningGateway;
let alice: string;

beforeAll(async () => {
  stack = await startTestStack();
  const store = redisStore('confirmation-preview');
  const confirmations = { previewTimeoutMs: 10_000 };
  [a, b, restricted] = await Promise.all([
    startGateway(testConfig(stack, { store, confirmations })),
    startGateway(testConfig(stack, { store, confirmations })),
    startGateway(
      testConfig(stack, {
        confirmations: { previewTimeoutMs: 500 },
        servers: {
          hr: {
            tools: {
              get_employee: { roles: ['executive'] },
              update_salary: { preview: { tool: 'delete_employee', arguments: { employeeId: '{{employeeId}}' }, text: '{{name}}' } },
            },
          },
        },
      }),
    ),
  ]);
  alice = await stack.issuer.tokenFor('alice.chen');
});

afterAll(async () => {
  await Promise.all([a?.close(), b?.close(), restricted?.close()]);
  await stack?.close();
});

const hr = () => stack.servers.hr.controls;
const employee = (id: string) => {
  const record = hr().data.employees.get(id);
  if (record === undefined) throw new Error(`no employee ${id}`);
  return record;
};
const requestDelete = (gateway: RunningGateway, employeeId: string) =>
  api(`${gateway.url}/api/tools/hr/delete_employee`, { token: alice, body: { arguments: { employeeId } } });
const untilConfirmation = (frame: SseFrame): boolean => frame.event === 'confirmation_required' || frame.event === 'done';

describe('a confirmation carries its preview', () => {
  it('over /mcp with elicitation: the question names the employee behind the id', async () => {
    const target = employee('E-1045');
    const asked: string[] = [];
    const client = new Client({ name: 'preview-test', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' }, capabilities: { elicitation: { form: {} } } });
    client.setRequestHandler('elicitation/create', (request) => {
      asked.push((request.params as { message: string }).message);
      return { action: 'decline' };
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${a.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${alice}` } } }));
    try {
      const result = await client.callTool({ name: 'hr__delete_employee', arguments: { employeeId: 'E-1045' } });
      expect(result.isError).toBe(true);
      expect(asked).toHaveLength(1);
      expect(asked[0]).toContain(`About: ${target.name}`);
      expect(hr().toolCallCount('delete_employee')).toBe(0);
    } finally {
      await client.close();
    }
  });

  it('direct call: the employee behind the id, read as the caller, and the same on the other replica', async () => {
    const target = employee('E-1046');
    const reads = hr().toolCallCount('get_employee');
    const created = await requestDelete(a, 'E-1046');
    expect(created.status).toBe(202);
    expect(created.body.confirmation.preview).toBe(`${target.name} — ${target.title}, ${target.department} (${target.location})`);
    expect(hr().toolCallCount('get_employee')).toBe(reads + 1);
    expect(hr().toolCallCount('delete_employee')).toBe(0);

    // Stored with the confirmation: another replica shows the same, without reading again.
    const elsewhere = await api(`${b.url}/api/confirmations/${created.body.confirmation.id}`, { token: alice });
    expect(elsewhere.status).toBe(200);
    expect(elsewhere.body.confirmation.preview).toBe(created.body.confirmation.preview);
    expect(hr().toolCallCount('get_employee')).toBe(reads + 1);

    // The preview read is audited as the caller's own call.
    const audit = await api(`${a.url}/api/admin/audit?tool=get_employee`, { token: await stack.issuer.tokenFor('ops.admin') });
    expect(audit.status).toBe(200);
    expect(audit.body.records).toEqual(expect.arrayContaining([expect.objectContaining({ username: 'alice.chen', tool: 'get_employee', arguments: { employeeId: 'E-1046' } })]));
  });

  it('update_salary shows the current salary', async () => {
    const target = employee('E-1047');
    const created = await api(`${a.url}/api/tools/hr/update_salary`, { token: alice, body: { arguments: { employeeId: 'E-1047', salary: 123_000 } } });
    expect(created.status).toBe(202);
    expect(created.body.confirmation.preview).toBe(`${target.name} — ${target.title}, ${target.department}; current salary ${target.salary} USD`);
  });

  it('agent run: confirmation_required has the preview, and a reader on the other replica sees it too', async () => {
    const target = employee('E-1048');
    const frames = await collectRun(await startRun(a.url, alice, { query: 'delete employee E-1048' }), untilConfirmation);
    const required = frames.at(-1)!;
    expect(required.event).toBe('confirmation_required');
    expect(required.data).toMatchObject({ tool: 'delete_employee', arguments: { employeeId: 'E-1048' } });
    expect(required.data.preview).toContain(target.name);

    const replayed = await collectRun(await readRun(b.url, alice, runIdOf(frames)), untilConfirmation);
    expect(replayed.at(-1)?.data).toMatchObject({ confirmationId: required.data.confirmationId, preview: required.data.preview });
    const stored = await api(`${b.url}/api/confirmations/${required.data.confirmationId as string}`, { token: alice });
    expect(stored.body.confirmation.preview).toBe(required.data.preview);

    const rejected = await api(`${b.url}/api/confirmations/${required.data.confirmationId as string}`, { token: alice, body: { decision: 'reject' } });
    expect(rejected.status).toBe(200);
  });
});

describe('no preview, and the confirmation all the same', () => {
  it('a preview tool the caller may not use is not called', async () => {
    const reads = hr().toolCallCount('get_employee');
    const created = await requestDelete(restricted, 'E-1049');
    expect(created.status).toBe(202);
    expect(created.body.confirmation).not.toHaveProperty('preview');
    expect(created.body.confirmation.id).toEqual(expect.any(String));
    expect(hr().toolCallCount('get_employee')).toBe(reads);
  });

  it('a preview tool that needs confirmation itself never runs unattended', async () => {
    const created = await api(`${restricted.url}/api/tools/hr/update_salary`, { token: alice, body: { arguments: { employeeId: 'E-1050', salary: 99_000 } } });
    expect(created.status).toBe(202);
    expect(created.body.confirmation).not.toHaveProperty('preview');
    expect(hr().toolCallCount('delete_employee')).toBe(0);
    expect(hr().data.employees.has('E-1050')).toBe(true);
  });

  it('a record the server will not show the caller (here: none) gives no preview', async () => {
    const reads = hr().toolCallCount('get_employee');
    const created = await requestDelete(a, 'E-9999');
    expect(created.status).toBe(202);
    expect(created.body.confirmation).not.toHaveProperty('preview');
    expect(hr().toolCallCount('get_employee')).toBe(reads + 1);
  });

  it('a failing preview tool (503 on every attempt) gives no preview', async () => {
    hr().failNext(a.gateway.config.upstream.retry.attempts, 503);
    const created = await requestDelete(a, 'E-1051');
    expect(created.status).toBe(202);
    expect(created.body.confirmation).not.toHaveProperty('preview');
    // The failures were the preview's: a later confirmation has its preview again.
    const again = await requestDelete(a, 'E-1051');
    expect(again.body.confirmation.preview).toContain(employee('E-1051').name);
  });

  it('a preview tool that never answers is given up after confirmations.previewTimeoutMs', async () => {
    // restricted grants get_employee to executives only: eve's confirmation reads it, and that read hangs.
    const eve = await stack.issuer.tokenFor('eve.thompson');
    const requests = hr().requestCount();
    hr().hangNext(1);
    const created = await api(`${restricted.url}/api/tools/hr/delete_employee`, { token: eve, body: { arguments: { employeeId: 'E-1052' } } });
    expect(created.status).toBe(202);
    expect(created.body.confirmation).not.toHaveProperty('preview');
    expect(hr().requestCount()).toBe(requests + 1);
    // The confirmation stands: eve can decide on it (reject, so nothing is deleted).
    const rejected = await api(`${restricted.url}/api/confirmations/${created.body.confirmation.id as string}`, { token: eve, body: { decision: 'reject' } });
    expect(rejected.status).toBe(200);
    expect(hr().data.employees.has('E-1052')).toBe(true);
  });
});
