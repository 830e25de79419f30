import { describe, expect, it } from 'vitest';
import { decideReply, LOOKUP_PREAMBLE, type ReplyBlock } from '../../src/dev/sim-anthropic/brain.js';
import { listModels, MODELS } from '../../src/dev/sim-anthropic/models.js';
import { parseMessagesRequest, type MessagesRequest, type RequestTool } from '../../src/dev/sim-anthropic/request.js';
import { buildMessage, splitText, streamEvents } from '../../src/dev/sim-anthropic/response.js';
import { describeResult, summariseToolResults } from '../../src/dev/sim-anthropic/summary.js';
import { fillArguments } from '../../src/dev/sim-anthropic/tool-arguments.js';
import { chooseTool } from '../../src/dev/sim-anthropic/tool-choice.js';
import { computeInputUsage, PromptCache } from '../../src/dev/sim-anthropic/usage.js';

const employeeIdSchema = { type: 'object', properties: { employeeId: { type: 'string' } }, required: ['employeeId'] };

const TOOLS: RequestTool[] = [
  { name: 'hr__get_employee', description: 'Look up an employee by id', input_schema: employeeIdSchema },
  {
    name: 'hr__delete_employee',
    description: 'Delete an employee record',
    input_schema: {
      type: 'object',
      properties: {
        employeeId: { type: 'string' },
        reason: { type: 'string' },
        mode: { type: 'string', enum: ['soft', 'hard'] },
      },
      required: ['employeeId'],
    },
  },
  { name: 'finance__list_invoices', description: 'List the invoices of a customer' },
];

function request(overrides: Partial<MessagesRequest>): MessagesRequest {
  return { model: 'claude-sonnet-4-6', max_tokens: 1024, messages: [{ role: 'user', content: 'hi' }], ...overrides };
}

function toolUse(blocks: readonly ReplyBlock[]): Extract<ReplyBlock, { type: 'tool_use' }> {
  const block = blocks.find((b) => b.type === 'tool_use');
  if (block?.type !== 'tool_use') throw new Error('no tool_use block');
  return block;
}

describe('chooseTool', () => {
  it('prefers the tool whose name shares the most words with the question', () => {
    expect(chooseTool('delete employee E-1042', TOOLS)?.name).toBe('hr__delete_employee');
    expect(chooseTool('Who is employee E-1042?', TOOLS)?.name).toBe('hr__get_employee');
  });

  it('matches plurals and description words, ignoring stop-words and ids', () => {
    expect(chooseTool('Show me all the invoices for ACME', TOOLS)?.name).toBe('finance__list_invoices');
    expect(chooseTool('which customer owes money?', TOOLS)?.name).toBe('finance__list_invoices');
  });

  it('breaks ties by the order the tools were offered', () => {
    const tied = [{ name: 'alpha_report' }, { name: 'beta_report' }];
    expect(chooseTool('the report please', tied)?.name).toBe('alpha_report');
    expect(chooseTool('the report please', [...tied].reverse())?.name).toBe('beta_report');
  });

  it('returns nothing when no tool shares a significant word', () => {
    expect(chooseTool('what is the weather like?', TOOLS)).toBeUndefined();
    expect(chooseTool('E-1042', TOOLS)).toBeUndefined();
  });
});

describe('fillArguments', () => {
  const deleteSchema = TOOLS[1]!.input_schema;

  it('takes an id-looking token for an *Id property and omits optional ones', () => {
    expect(fillArguments(deleteSchema, 'delete employee E-1042', 'hr__delete_employee')).toEqual({ employeeId: 'E-1042' });
  });

  it('includes an optional enum only when the question names one of its values', () => {
    expect(fillArguments(deleteSchema, 'hard delete of E-1042, not soft', 'hr__delete_employee')).toEqual({
      employeeId: 'E-1042',
      mode: 'hard',
    });
  });

  it('falls back to the first value of a required enum', () => {
    const schema = { properties: { status: { type: 'string', enum: ['open', 'closed'] } }, required: ['status'] };
    expect(fillArguments(schema, 'list tickets', 'list_tickets')).toEqual({ status: 'open' });
  });

  it('hands out distinct ids to several id properties, in order', () => {
    const schema = {
      properties: { ticket_id: { type: 'string' }, assigneeId: { type: 'string' } },
      required: ['ticket_id', 'assigneeId'],
    };
    expect(fillArguments(schema, 'assign T-3001 to E-1042', 'assign_ticket')).toEqual({
      ticket_id: 'T-3001',
      assigneeId: 'E-1042',
    });
  });

  it('fills other required strings from quotes, emails, dates or the remaining words', () => {
    const schema = {
      properties: {
        title: { type: 'string' },
        email: { type: 'string', format: 'email' },
        dueDate: { type: 'string' },
      },
      required: ['title', 'email', 'dueDate'],
    };
    expect(
      fillArguments(schema, 'create ticket "Printer on fire" for ana@example.com due 2026-03-01', 'create_ticket'),
    ).toEqual({ title: 'Printer on fire', email: 'ana@example.com', dueDate: '2026-03-01' });

    const search = { properties: { query: { type: 'string' } }, required: ['query'] };
    expect(fillArguments(search, 'search customers in Berlin', 'crm__search_customers')).toEqual({ query: 'Berlin' });
  });

  it('reads required numbers but never the digits of an id', () => {
    const schema = { properties: { days: { type: 'integer' }, id: { type: 'string' } }, required: ['days', 'id'] };
    expect(fillArguments(schema, 'extend INV-2003 by 14 days', 'extend_invoice')).toEqual({ days: 14, id: 'INV-2003' });
  });
});

describe('decideReply', () => {
  let counter = 0;
  const nextId = (): string => `toolu_test_${++counter}`;

  it('answers a question with a short text and one tool_use', () => {
    const reply = decideReply(request({ tools: TOOLS, messages: [{ role: 'user', content: 'delete employee E-1042' }] }), nextId);
    expect(reply.stopReason).toBe('tool_use');
    expect(reply.content[0]).toEqual({ type: 'text', text: LOOKUP_PREAMBLE });
    expect(toolUse(reply.content)).toMatchObject({ name: 'hr__delete_employee', input: { employeeId: 'E-1042' } });
  });

  it('says so in text when no tool fits', () => {
    const reply = decideReply(request({ tools: TOOLS, messages: [{ role: 'user', content: 'tell me a joke' }] }), nextId);
    expect(reply.stopReason).toBe('end_turn');
    expect(reply.content).toHaveLength(1);
    expect(reply.content[0]).toMatchObject({ type: 'text', text: expect.stringMatching(/None of my tools fits/) });
  });

  it('summarises tool results, naming the tool, counting items and flagging errors', () => {
    const messages: MessagesRequest['messages'] = [
      { role: 'user', content: 'list employees and invoices' },
      {
        role: 'assistant',
        content: [
          { type: 'tool_use', id: 'toolu_a', name: 'hr__list_employees', input: {} },
          { type: 'tool_use', id: 'toolu_b', name: 'finance__list_invoices', input: {} },
        ],
      },
      {
        role: 'user',
        content: [
          {
            type: 'tool_result',
            tool_use_id: 'toolu_a',
            content: [{ type: 'text', text: JSON.stringify([{ name: 'Ana' }, { name: 'Ben' }, { name: 'Cy' }]) }],
          },
          { type: 'tool_result', tool_use_id: 'toolu_b', content: 'finance server unavailable', is_error: true },
        ],
      },
    ];
    const reply = decideReply(request({ messages }), nextId);
    expect(reply.stopReason).toBe('end_turn');
    const text = reply.content[0]?.type === 'text' ? reply.content[0].text : '';
    expect(text).toContain('hr__list_employees returned 3 items');
    expect(text).toContain('Ana, Ben, Cy');
    expect(text).toContain('finance__list_invoices tool reported an error: "finance server unavailable"');
  });

  it('acknowledges a declined call', () => {
    const text = summariseToolResults([{ toolName: 'hr__delete_employee', text: 'The user declined this call.', isError: true }]);
    expect(text).toContain('You declined the hr__delete_employee call');
  });

  it('stops at max_tokens, dropping the tool call it could not finish', () => {
    const reply = decideReply(
      request({ max_tokens: 2, tools: TOOLS, messages: [{ role: 'user', content: 'delete employee E-1042' }] }),
      nextId,
    );
    expect(reply).toEqual({ stopReason: 'max_tokens', content: [{ type: 'text', text: LOOKUP_PREAMBLE.slice(0, 8) }] });
  });
});

describe('describeResult', () => {
  it('counts the list inside an object and quotes plain text', () => {
    expect(describeResult(JSON.stringify({ invoices: [{ id: 'INV-1' }, { id: 'INV-2' }], total: 2 }))).toBe(
      '2 invoices with fields id (e.g. INV-1, INV-2)',
    );
    expect(describeResult(JSON.stringify({ id: 'E-1042', name: 'Ana', active: true }))).toBe(
      'a record with id E-1042, name Ana, active true',
    );
    expect(describeResult('deleted')).toBe('"deleted"');
    expect(describeResult('')).toBe('no content');
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
