import { describe, expect, it } from 'vitest';
import { decideReply, LOOKUP_PREAMBLE, MAX_PAGES, NEXT_PAGE_PREAMBLE, type Reply, type ReplyBlock } from '../../src/dev/sim-anthropic/brain.js';
import { readIntent } from '../../src/dev/sim-anthropic/intent.js';
import { listModels, MODELS } from '../../src/dev/sim-anthropic/models.js';
import { parseMessagesRequest, type MessagesRequest, type RequestTool } from '../../src/dev/sim-anthropic/request.js';
import { buildMessage, splitText, streamEvents } from '../../src/dev/sim-anthropic/response.js';
import { summariseToolResults, unframe } from '../../src/dev/sim-anthropic/summary.js';
import { fillArguments } from '../../src/dev/sim-anthropic/tool-arguments.js';
import { chooseTool } from '../../src/dev/sim-anthropic/tool-choice.js';
import { profileTool } from '../../src/dev/sim-anthropic/tool-profile.js';
import { computeInputUsage, PromptCache } from '../../src/dev/sim-anthropic/usage.js';

/**
 * Tools as the gateway offers them to the model in the demo: qualified names, the server's
 * description in brackets, the confirmation note, and the sample servers' JSON schemas (with the
 * id patterns their zod schemas produce).
 */
const CONFIRM = ' A person must confirm this action before it runs.';
const HR = '[hr (People directory: employees, org chart, salaries)]';
const FINANCE = '[finance (Invoices and departmental budgets)]';
const SUPPORT = '[support (Customer support tickets)]';
const page = {
  cursor: { type: 'string', description: "Opaque cursor from the previous page's `nextCursor`; omit it for the first page." },
  limit: { type: 'integer', minimum: 1, maximum: 100, default: 20, description: 'Maximum number of items to return (1-100, default 20).' },
};
const employeeId = { type: 'string', pattern: '^E-\\d{4}$', description: 'Employee id, e.g. "E-1001" (see list_employees).' };

const T = {
  listEmployees: {
    name: 'hr__list_employees',
    description: `${HR} List employees you are allowed to see, ordered by id. Returns id, name, department, title, email and managerId; use get_employee for salary, location and start date. Paginated.`,
    input_schema: { type: 'object', properties: { department: { type: 'string', enum: ['HR', 'Finance', 'Sales', 'Support', 'Engineering', 'Executive'] }, ...page } },
  },
  getEmployee: {
    name: 'hr__get_employee',
    description: `${HR} Get the full HR record of one employee: department, title, manager, annual salary (USD), location and start date.`,
    input_schema: { type: 'object', properties: { employeeId }, required: ['employeeId'] },
  },
  deleteEmployee: {
    name: 'hr__delete_employee',
    description: `${HR} Permanently delete an employee record. Irreversible. Refused while the employee still manages others. Requires hr-write.${CONFIRM}`,
    input_schema: { type: 'object', properties: { employeeId }, required: ['employeeId'] },
  },
  updateSalary: {
    name: 'hr__update_salary',
    description: `${HR} Set an employee's annual base salary in USD. Returns the previous and the new salary. Requires hr-write.${CONFIRM}`,
    input_schema: {
      type: 'object',
      properties: { employeeId, salary: { type: 'integer', minimum: 10000, maximum: 5000000, description: 'New annual base salary in whole USD, e.g. 125000.' } },
      required: ['employeeId', 'salary'],
    },
  },
  listInvoices: {
    name: 'finance__list_invoices',
    description: `${FINANCE} List customer invoices with amount, currency, status (draft, sent, paid, overdue), issue and due dates, ordered by id. Paginated.`,
    input_schema: { type: 'object', properties: { status: { type: 'string', enum: ['draft', 'sent', 'paid', 'overdue'] }, ...page } },
  },
  listBudgets: {
    name: 'finance__list_budgets',
    description: `${FINANCE} List 2026 department budgets per quarter (USD) with their status (draft or approved) and approver, ordered by id. Paginated.`,
    input_schema: { type: 'object', properties: page },
  },
  deleteInvoice: {
    name: 'finance__delete_invoice',
    description: `${FINANCE} Permanently delete an invoice. Irreversible. Requires finance-write.${CONFIRM}`,
    input_schema: { type: 'object', properties: { invoiceId: { type: 'string', pattern: '^INV-\\d{4}$', description: 'Invoice id, e.g. "INV-2001" (see list_invoices).' } }, required: ['invoiceId'] },
  },
  approveBudget: {
    name: 'finance__approve_budget',
    description: `${FINANCE} Approve a draft department budget; you are recorded as the approver. Requires finance-write.${CONFIRM}`,
    input_schema: { type: 'object', properties: { budgetId: { type: 'string', pattern: '^BUD-\\d{4}Q[1-4]-[A-Z]+$', description: 'Budget id, e.g. "BUD-2026Q3-SALES".' } }, required: ['budgetId'] },
  },
  listTickets: {
    name: 'support__list_tickets',
    description: `${SUPPORT} List support tickets with subject, status, priority, reporter and assignee, ordered by id. Paginated.`,
    input_schema: { type: 'object', properties: { status: { type: 'string', enum: ['open', 'pending', 'closed'] }, ...page } },
  },
} satisfies Record<string, RequestTool>;

/** What each demo user is offered (the demo profile's grants). */
const ALICE = [T.listEmployees, T.getEmployee, T.deleteEmployee, T.updateSalary, T.listTickets];
const BOB = [T.listInvoices, T.listBudgets, T.deleteInvoice, T.approveBudget];
const FRANK = [T.listEmployees, T.getEmployee, T.listTickets];

const TOOLS: RequestTool[] = ALICE;

function request(overrides: Partial<MessagesRequest>): MessagesRequest {
  return { model: 'claude-sonnet-4-6', max_tokens: 1024, messages: [{ role: 'user', content: 'hi' }], ...overrides };
}

let counter = 0;
const nextId = (): string => `toolu_test_${++counter}`;

function ask(tools: readonly RequestTool[], question: string, overrides: Partial<MessagesRequest> = {}): Reply {
  return decideReply({ model: 'claude-sonnet-4-6', max_tokens: 4096, tools: [...tools], messages: [{ role: 'user', content: question }], ...overrides }, nextId);
}

function toolUse(reply: Reply): Extract<ReplyBlock, { type: 'tool_use' }> {
  const block = reply.content.find((b) => b.type === 'tool_use');
  if (block?.type !== 'tool_use') throw new Error(`no tool_use block in ${JSON.stringify(reply)}`);
  return block;
}

function textOf(reply: Reply): string {
  return reply.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
}

/** The gateway's framing of a tool result (runs/model-tools.ts). */
function framed(server: string, tool: string, body: unknown, isError = false): string {
  return `<tool_output server="${server}" tool="${tool}"${isError ? ' error="true"' : ''}>\n${typeof body === 'string' ? body : JSON.stringify(body)}\n</tool_output>`;
}

/** Continues a conversation: the model's previous reply, then the results of its tool call. */
function withResult(question: string, tools: readonly RequestTool[], history: MessagesRequest['messages'], result: string, isError = false): { messages: MessagesRequest['messages']; reply: Reply } {
  const previous = decideReply({ model: 'm', max_tokens: 4096, tools: [...tools], messages: history }, nextId);
  const use = toolUse(previous);
  const messages: MessagesRequest['messages'] = [
    ...history,
    { role: 'assistant', content: previous.content.map((block) => ({ ...block })) },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: result, ...(isError ? { is_error: true } : {}) }] },
  ];
  return { messages, reply: decideReply({ model: 'm', max_tokens: 4096, tools: [...tools], messages }, nextId) };
}

function expectPlainProse(text: string): void {
  expect(text).not.toMatch(/<\/?tool_output/);
  expect(text).not.toMatch(/\w__\w/);
}

describe('choosing a tool by the intent of the question', () => {
  it('deletes with the delete tool of the entity the id belongs to (alice, the README example)', () => {
    const reply = ask(ALICE, 'delete employee E-1042');
    expect(reply.stopReason).toBe('tool_use');
    expect(toolUse(reply)).toMatchObject({ name: 'hr__delete_employee', input: { employeeId: 'E-1042' } });
    expect(textOf(reply)).toBe("I'll delete employee E-1042. You will be asked to confirm first.");
  });

  it('refuses plainly when the only delete tool is for another entity (bob: "delete employee E-1047")', () => {
    const reply = ask(BOB, 'delete employee E-1047');
    expect(reply.stopReason).toBe('end_turn');
    expect(reply.content.some((block) => block.type === 'tool_use')).toBe(false);
    const text = textOf(reply);
    expect(text).toContain("I can't delete employee E-1047 for you");
    expect(text).toContain('nothing was changed');
    expect(text).toContain('- delete invoice');
    expectPlainProse(text);
  });

  it('refuses instead of listing when the user has no tool for the change (frank may not delete)', () => {
    const reply = ask(FRANK, 'delete employee E-1047');
    expect(reply.content.some((block) => block.type === 'tool_use')).toBe(false);
    const text = textOf(reply);
    expect(text).toMatch(/^I can't delete employee E-1047 for you: none of the tools you have access to can do that/);
    expect(text).toContain('- list employees\n- get employee\n- list tickets');
    expectPlainProse(text);
  });

  it('reads with a read tool when the question asks for no change ("what is E-1005\'s salary?")', () => {
    const reply = ask(ALICE, "what is E-1005's salary?");
    expect(toolUse(reply)).toMatchObject({ name: 'hr__get_employee', input: { employeeId: 'E-1005' } });
    expect(textOf(reply)).toBe(LOOKUP_PREAMBLE);
  });

  it('lists when no id is named, filters by an enum value the question names', () => {
    expect(toolUse(ask(ALICE, 'show me the employees in Engineering'))).toMatchObject({ name: 'hr__list_employees', input: { department: 'Engineering' } });
    expect(toolUse(ask(BOB, 'which invoices are overdue?'))).toMatchObject({ name: 'finance__list_invoices', input: { status: 'overdue' } });
    expect(toolUse(ask(FRANK, "list my team's open tickets"))).toMatchObject({ name: 'support__list_tickets', input: { status: 'open' } });
  });

  it('changes with the tool for that change, reading amounts as people write them', () => {
    expect(toolUse(ask(ALICE, "raise E-1005's salary to $170,000"))).toMatchObject({ name: 'hr__update_salary', input: { employeeId: 'E-1005', salary: 170000 } });
    expect(toolUse(ask(BOB, 'approve budget BUD-2026Q3-SALES'))).toMatchObject({ name: 'finance__approve_budget', input: { budgetId: 'BUD-2026Q3-SALES' } });
    expect(toolUse(ask(BOB, 'delete INV-2003'))).toMatchObject({ name: 'finance__delete_invoice', input: { invoiceId: 'INV-2003' } });
  });

  it('asks for missing required arguments instead of calling with none', () => {
    const salary = ask(ALICE, "change E-1005's salary");
    expect(salary.stopReason).toBe('end_turn');
    expect(textOf(salary)).toContain('To update salary I need a little more from you');
    expect(textOf(salary)).toContain('- **salary**: New annual base salary in whole USD, e.g. 125000.');
    expect(textOf(salary)).not.toContain('employee id');

    const who = ask(ALICE, 'delete an employee');
    expect(who.content.some((block) => block.type === 'tool_use')).toBe(false);
    expect(textOf(who)).toContain('- **employee id**: Employee id, e.g. "E-1001"');
  });

  it('says it has no tool for a question none of them answers', () => {
    const reply = ask(ALICE, 'tell me a joke');
    expect(reply.stopReason).toBe('end_turn');
    expect(textOf(reply)).toMatch(/^I don't have a tool that can answer that\.\n\nWith your access I can:\n\n- list employees/);
    expect(textOf(ask([], 'list employees'))).toContain('You have no tools available right now.');
  });

  it('decides the same way every time', () => {
    const strip = (reply: Reply): unknown => reply.content.map((block) => (block.type === 'tool_use' ? { ...block, id: '' } : block));
    expect(strip(ask(ALICE, 'delete employee E-1042'))).toEqual(strip(ask(ALICE, 'delete employee E-1042')));
  });

  it('stops at max_tokens, dropping the tool call it could not finish', () => {
    const reply = ask(ALICE, "what is E-1005's salary?", { max_tokens: 2 });
    expect(reply).toEqual({ stopReason: 'max_tokens', content: [{ type: 'text', text: LOOKUP_PREAMBLE.slice(0, 8) }] });
  });
});

describe('reading the intent', () => {
  it('tells a change from a read and keeps the entity words', () => {
    expect(readIntent('delete employee E-1042')).toMatchObject({ action: 'delete', ids: ['E-1042'], wantsAll: false });
    expect([...readIntent('delete employee E-1042').nouns]).toEqual(['employee']);
    expect(readIntent('show the closed tickets').action).toBeUndefined();
    expect(readIntent('list all employees')).toMatchObject({ action: undefined, wantsAll: true });
  });

  it('profiles tools by verb, entity and the ids they accept', () => {
    const profile = profileTool(T.updateSalary);
    expect(profile).toMatchObject({ label: 'update salary', action: 'update', readOnly: false, needsConfirmation: true });
    expect([...profile.nouns]).toEqual(['salary', 'employee']);
    expect(profile.idProperties[0]?.accepts('E-1005')).toBe(true);
    expect(profile.idProperties[0]?.accepts('INV-2003')).toBe(false);
    expect(profileTool(T.getEmployee).readOnly).toBe(true);
    const choice = chooseTool(readIntent('delete employee E-1047'), BOB.map(profileTool));
    expect(choice).toEqual({ kind: 'none', action: 'delete' });
  });
});

describe('fillArguments', () => {
  it('takes an id the property accepts and reports what the question lacks', () => {
    expect(fillArguments(T.updateSalary.input_schema, 'set salary of E-1042 to 125k', 'update_salary')).toEqual({ input: { employeeId: 'E-1042', salary: 125000 }, missing: [] });
    expect(fillArguments(T.updateSalary.input_schema, 'set salary of INV-2001', 'update_salary')).toMatchObject({
      input: {},
      missing: [{ name: 'employeeId' }, { name: 'salary' }],
    });
  });

  it('hands out distinct ids to several id properties, in order', () => {
    const schema = { properties: { ticket_id: { type: 'string' }, assigneeId: { type: 'string' } }, required: ['ticket_id', 'assigneeId'] };
    expect(fillArguments(schema, 'assign T-3001 to E-1042', 'assign_ticket').input).toEqual({ ticket_id: 'T-3001', assigneeId: 'E-1042' });
  });

  it('fills other required strings from quotes, emails, dates, text after a colon or the remaining words', () => {
    const schema = {
      properties: { title: { type: 'string' }, email: { type: 'string', format: 'email' }, dueDate: { type: 'string' } },
      required: ['title', 'email', 'dueDate'],
    };
    expect(fillArguments(schema, 'create ticket "Printer on fire" for ana@example.com due 2026-03-01', 'create_ticket').input).toEqual({
      title: 'Printer on fire',
      email: 'ana@example.com',
      dueDate: '2026-03-01',
    });
    const close = { properties: { ticketId: { type: 'string' }, resolution: { type: 'string' } }, required: ['ticketId', 'resolution'] };
    expect(fillArguments(close, 'close ticket T-3001: replaced the toner', 'close_ticket').input).toEqual({ ticketId: 'T-3001', resolution: 'replaced the toner' });
    expect(fillArguments(close, 'close ticket T-3001', 'close_ticket').missing).toEqual([{ name: 'resolution', description: undefined }]);
    const search = { properties: { query: { type: 'string' } }, required: ['query'] };
    expect(fillArguments(search, 'search customers in Berlin', 'crm__search_customers').input).toEqual({ query: 'Berlin' });
  });

  it('reads required numbers but never the digits of an id, and never guesses a required enum', () => {
    const schema = { properties: { days: { type: 'integer' }, id: { type: 'string' } }, required: ['days', 'id'] };
    expect(fillArguments(schema, 'extend INV-2003 by 14 days', 'extend_invoice').input).toEqual({ days: 14, id: 'INV-2003' });
    const outcome = { properties: { outcome: { type: 'string', enum: ['won', 'lost'] } }, required: ['outcome'] };
    expect(fillArguments(outcome, 'close the deal', 'close_deal').missing).toEqual([{ name: 'outcome', description: undefined }]);
    expect(fillArguments(outcome, 'close the deal, we won', 'close_deal').input).toEqual({ outcome: 'won' });
  });
});

const EMPLOYEES = [
  { id: 'E-1001', name: 'Eve Thompson', department: 'Executive', title: 'Chief Executive Officer', email: 'eve.thompson@example.com', managerId: null },
  { id: 'E-1002', name: 'Alice Chen', department: 'HR', title: 'HR Director', email: 'alice.chen@example.com', managerId: 'E-1001' },
];

describe('answering from tool results', () => {
  it('answers a record in markdown, leading with what was asked', () => {
    const record = { id: 'E-1005', name: 'Dan Okafor', department: 'Support', title: 'Head of Customer Support', managerId: 'E-1001', salary: 158000, location: 'London', startDate: '2018-02-26' };
    const question = "what is E-1005's salary?";
    const { reply } = withResult(question, ALICE, [{ role: 'user', content: question }], framed('hr', 'get_employee', record));
    expect(reply.stopReason).toBe('end_turn');
    const text = textOf(reply);
    expect(text).toMatch(/^The salary of \*\*Dan Okafor\*\* \(E-1005\) is \*\*158,000\*\*\./);
    expect(text).toContain('- **Location**: London');
    expectPlainProse(text);
  });

  it('answers a list with a table and says that more pages exist', () => {
    const question = 'list employees';
    const { reply } = withResult(question, ALICE, [{ role: 'user', content: question }], framed('hr', 'list_employees', { employees: EMPLOYEES, nextCursor: 'abc' }));
    const text = textOf(reply);
    expect(text).toContain('Here are the first 2 employees:');
    expect(text).toContain('| Id | Name | Department | Title | Email | Manager id |\n| --- | --- | --- | --- | --- | --- |');
    expect(text).toContain('| E-1002 | Alice Chen | HR | HR Director | alice.chen@example.com | E-1001 |');
    expect(text).toContain('There are more employees than shown here');
    expectPlainProse(text);
  });

  it('follows pagination when asked for all, up to a bound, then answers with every row', () => {
    const question = 'list all employees';
    const history: MessagesRequest['messages'] = [{ role: 'user', content: question }];
    const first = withResult(question, ALICE, history, framed('hr', 'list_employees', { employees: [EMPLOYEES[0]], nextCursor: 'page-2' }));
    expect(first.reply.stopReason).toBe('tool_use');
    expect(textOf(first.reply)).toBe(NEXT_PAGE_PREAMBLE);
    expect(toolUse(first.reply)).toMatchObject({ name: 'hr__list_employees', input: { cursor: 'page-2' } });
    const second = withResult(question, ALICE, first.messages, framed('hr', 'list_employees', { employees: [EMPLOYEES[1]] }));
    expect(second.reply.stopReason).toBe('end_turn');
    const text = textOf(second.reply);
    expect(text).toContain('Here are all 2 employees:');
    expect(text).toContain('| E-1001 | Eve Thompson |');
    expect(text).toContain('| E-1002 | Alice Chen |');
    expect(text).not.toContain('more employees');

    let messages = history;
    let reply: Reply | undefined;
    for (let page = 0; page < MAX_PAGES; page += 1) {
      ({ messages, reply } = withResult(question, ALICE, messages, framed('hr', 'list_employees', { employees: [EMPLOYEES[0]], nextCursor: `p${page}` })));
    }
    expect(reply?.stopReason).toBe('end_turn');
    expect(textOf(reply!)).toContain('There are more employees than shown here');
  });

  it('says what a change did, without the framing or qualified names', () => {
    const question = 'delete employee E-1042';
    const { reply } = withResult(question, ALICE, [{ role: 'user', content: question }], framed('hr', 'delete_employee', { employeeId: 'E-1042', name: 'Hana Eriksen', deleted: true }));
    expect(textOf(reply)).toBe('Done: deleted employee **Hana Eriksen** (E-1042).');
  });

  it('reports a failure in plain words, without the <tool_output> wrapper', () => {
    const question = 'delete employee E-1042';
    const { reply } = withResult(question, ALICE, [{ role: 'user', content: question }], framed('hr', 'delete_employee', 'Employee E-1042 not found (or not visible to you).', true), true);
    const text = textOf(reply);
    expect(text).toBe("I couldn't delete employee E-1042: Employee E-1042 not found (or not visible to you).");
    expectPlainProse(text);
  });

  it('acknowledges a declined call', () => {
    const question = 'delete employee E-1042';
    const { reply } = withResult(question, ALICE, [{ role: 'user', content: question }], 'The user declined this action; it was not performed.', true);
    expect(textOf(reply)).toBe('You declined, so I did not delete employee E-1042. Nothing was changed.');
  });

  it('picks the rows of the id the question names out of a list', () => {
    const text = summariseToolResults(
      [{ label: 'list invoices', action: undefined, input: {}, isError: false, text: framed('finance', 'list_invoices', { invoices: [{ id: 'INV-2001', amount: 100 }, { id: 'INV-2003', amount: 12500 }] }) }],
      { nouns: new Set(['invoice']), ids: ['INV-2003'] },
    );
    expect(text).toBe('Here is what I found for INV-2003:\n\n| Id | Amount |\n| --- | --- |\n| INV-2003 | 12,500 |');
  });

  it('unframes results and notices the gateway truncated them', () => {
    expect(unframe('<tool_output server="a" tool="b">\n{"x":1}\n</tool_output>\n[The output was truncated to 10 bytes; ask for a narrower query or the next page.]')).toEqual({ body: '{"x":1}', cut: true });
    expect(unframe('plain')).toEqual({ body: 'plain', cut: false });
  });
});

describe('parseMessagesRequest', () => {
  it('names the offending field', () => {
    expect(parseMessagesRequest({ model: 'm', messages: [{ role: 'user', content: 'x' }] })).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^max_tokens: /),
    });
    expect(parseMessagesRequest({ model: 'm', max_tokens: 5, messages: [] })).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^messages: /),
    });
    expect(parseMessagesRequest({ model: '', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^model: /),
    });
  });
});

describe('usage and prompt caching', () => {
  const cached = request({
    system: [{ type: 'text', text: 'You are helpful. '.repeat(20), cache_control: { type: 'ephemeral' } }],
    tools: TOOLS,
  });

  it('writes the tools+system prefix once, then reads it, until it expires', () => {
    let now = 0;
    const cache = new PromptCache(() => now);
    const first = computeInputUsage(cached, cache);
    const prefixTokens = Math.ceil(JSON.stringify([...TOOLS, ...(cached.system as unknown[])]).length / 4);
    expect(first).toMatchObject({ cache_creation_input_tokens: prefixTokens, cache_read_input_tokens: 0 });
    expect(first.cache_creation).toEqual({ ephemeral_5m_input_tokens: prefixTokens, ephemeral_1h_input_tokens: 0 });

    now += 60_000;
    const second = computeInputUsage(cached, cache);
    expect(second).toMatchObject({ cache_creation_input_tokens: 0, cache_read_input_tokens: prefixTokens });
    expect(second.input_tokens).toBe(first.input_tokens);

    now += 5 * 60_000 + 1;
    expect(computeInputUsage(cached, cache).cache_creation_input_tokens).toBe(prefixTokens);
  });

  it('counts everything as input when nothing is marked for caching', () => {
    const plain = request({ tools: TOOLS });
    const usage = computeInputUsage(plain, new PromptCache());
    const { system, tools, messages } = plain;
    expect(usage.input_tokens).toBe(Math.ceil(JSON.stringify({ system, tools, messages }).length / 4));
    expect(usage.cache_read_input_tokens).toBe(0);
  });
});

describe('stream events', () => {
  it('split text into word-sized deltas that join back', () => {
    const text = 'Here is what I found.  Two  spaces.';
    const parts = splitText(text);
    expect(parts.length).toBeGreaterThan(4);
    expect(parts.join('')).toBe(text);
    const table = 'Rows:\n\n| Id | Name |\n| --- | --- |\n| E-1 | Ana Lee |';
    expect(splitText(table)).toEqual(['Rows:', '\n\n| Id | Name |', '\n| --- | --- |', '\n| E-1 | Ana Lee |']);
  });

  it('follow the wire order and carry the tool input in JSON fragments', () => {
    const reply = decideReply(request({ tools: TOOLS, messages: [{ role: 'user', content: 'delete employee E-1042' }] }), () => 'toolu_x');
    const message = buildMessage('msg_x', 'claude-sonnet-4-6', reply, computeInputUsage(request({}), new PromptCache()));
    const events = streamEvents(message);
    expect(events.map((e) => e.type).filter((t, i, all) => t !== all[i - 1])).toEqual([
      'message_start', 'ping', 'content_block_start', 'content_block_delta', 'content_block_stop',
      'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop',
    ]);
    const json = events
      .map((e) => (e.type === 'content_block_delta' && e.delta.type === 'input_json_delta' ? e.delta.partial_json : ''))
      .join('');
    expect(JSON.parse(json)).toEqual({ employeeId: 'E-1042' });
  });
});

describe('listModels', () => {
  it('pages with limit, after_id and before_id', () => {
    const first = listModels(new URLSearchParams('limit=2'));
    expect(first.data.map((m) => m.id)).toEqual(MODELS.slice(0, 2).map((m) => m.id));
    expect(first.has_more).toBe(true);
    const rest = listModels(new URLSearchParams(`limit=2&after_id=${first.last_id}`));
    expect(rest.data.map((m) => m.id)).toEqual([MODELS[2]!.id]);
    expect(rest.has_more).toBe(false);
    const before = listModels(new URLSearchParams(`limit=1&before_id=${MODELS[2]!.id}`));
    expect(before).toMatchObject({ data: [MODELS[1]], has_more: true });
  });
});
