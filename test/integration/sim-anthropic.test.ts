import { once } from 'node:events';
import Anthropic, {
  APIUserAbortError,
  AuthenticationError,
  BadRequestError,
  OverloadedError,
  RateLimitError,
} from '@anthropic-ai/sdk';
import type { MessageParam, Tool } from '@anthropic-ai/sdk/resources/messages';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatedAnthropic, type SimulatedAnthropicHandle } from '../../src/dev/sim-anthropic/index.js';

const MODEL = 'claude-sonnet-4-6';

const TOOLS: Tool[] = [
  {
    name: 'hr__get_employee',
    description: 'Get the HR record of one employee',
    input_schema: { type: 'object', properties: { employeeId: { type: 'string' } }, required: ['employeeId'] },
  },
  {
    name: 'hr__delete_employee',
    description: 'Delete an employee record',
    input_schema: {
      type: 'object',
      properties: { employeeId: { type: 'string' }, reason: { type: 'string' } },
      required: ['employeeId'],
    },
  },
];

const QUESTION: MessageParam[] = [{ role: 'user', content: 'get employee E-1042' }];

describe('simulated Anthropic API through the official SDK', () => {
  let sim: SimulatedAnthropicHandle;
  let client: Anthropic;

  beforeAll(async () => {
    sim = await startSimulatedAnthropic({ firstTokenMs: 0, tokenDelayMs: 0, rejectKeys: ['sk-revoked'] });
    client = new Anthropic({ apiKey: 'sk-test', baseURL: sim.url, maxRetries: 0 });
  });

  afterAll(async () => {
    await sim.close();
  });

  it('picks the matching tool and fills its id argument (non-streaming)', async () => {
    const received = once(sim.events, 'request');
    const message = await client.messages.create({ model: MODEL, max_tokens: 1024, tools: TOOLS, messages: QUESTION });
    expect((await received)[0]).toMatchObject({ model: MODEL, max_tokens: 1024 });
    expect(message.stop_reason).toBe('tool_use');
    expect(message.model).toBe(MODEL);
    expect(message.content[0]).toMatchObject({ type: 'text', text: 'Let me look that up.' });
    expect(message.content[1]).toMatchObject({
      type: 'tool_use',
      name: 'hr__get_employee',
      input: { employeeId: 'E-1042' },
      id: expect.stringMatching(/^toolu_\w+$/),
    });
    expect(message.usage.input_tokens).toBeGreaterThan(0);
    expect(message.usage.output_tokens).toBeGreaterThan(0);

    const body = sim.requests().at(-1) as { tools: Tool[]; messages: MessageParam[] };
    expect(body.tools.map((t) => t.name)).toEqual(TOOLS.map((t) => t.name));
    expect(body.messages).toEqual(QUESTION);
  });

  it('streams events that assemble into the same reply', async () => {
    const seen: string[] = [];
    const stream = client.messages.stream({ model: MODEL, max_tokens: 1024, tools: TOOLS, messages: QUESTION });
    stream.on('streamEvent', (event) => seen.push(event.type));
    const message = await stream.finalMessage();

    expect(message.stop_reason).toBe('tool_use');
    expect(message.content).toHaveLength(2);
    expect(message.content[0]).toMatchObject({ type: 'text', text: 'Let me look that up.' });
    expect(message.content[1]).toMatchObject({ type: 'tool_use', name: 'hr__get_employee', input: { employeeId: 'E-1042' } });
    expect(seen[0]).toBe('message_start');
    expect(seen.at(-1)).toBe('message_stop');
    expect(seen.filter((type) => type === 'content_block_delta').length).toBeGreaterThan(4);
    expect(message.usage.output_tokens).toBeGreaterThan(1);
    expect(sim.stats.active).toBe(0);
  });

  it('answers tool results in markdown and ends the turn', async () => {
    const first = await client.messages.create({ model: MODEL, max_tokens: 1024, tools: TOOLS, messages: QUESTION });
    const call = first.content.find((block) => block.type === 'tool_use');
    if (call?.type !== 'tool_use') throw new Error('expected a tool call');
    const rows = { employees: [{ name: 'Ana' }, { name: 'Ben' }, { name: 'Cy' }] };

    const message = await client.messages
      .stream({
        model: MODEL,
        max_tokens: 1024,
        tools: TOOLS,
        messages: [
          ...QUESTION,
          { role: 'assistant', content: first.content },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: JSON.stringify(rows) }] },
        ],
      })
      .finalMessage();

    expect(message.stop_reason).toBe('end_turn');
    expect(message.content).toHaveLength(1);
    expect(message.content[0]).toMatchObject({ type: 'text', text: 'Here are the 3 employees:\n\n| Name |\n| --- |\n| Ana |\n| Ben |\n| Cy |' });
  });

  it('writes the prompt cache on first use and reads it on a repeat', async () => {
    const params = {
      model: MODEL,
      max_tokens: 1024,
      system: [{ type: 'text' as const, text: `Cache test ${Date.now()}. ${'Be brief. '.repeat(40)}`, cache_control: { type: 'ephemeral' as const } }],
      tools: TOOLS,
      messages: QUESTION,
    };
    const first = await client.messages.create(params);
    const second = await client.messages.stream(params).finalMessage();

    expect(first.usage.cache_creation_input_tokens).toBeGreaterThan(0);
    expect(first.usage.cache_read_input_tokens).toBe(0);
    expect(second.usage.cache_creation_input_tokens).toBe(0);
    expect(second.usage.cache_read_input_tokens).toBe(first.usage.cache_creation_input_tokens);
    expect(second.usage.input_tokens).toBe(first.usage.input_tokens);

    const uncached = await client.messages.create({ ...params, system: [{ type: 'text', text: params.system[0]!.text }] });
    expect(uncached.usage.input_tokens).toBeGreaterThan(first.usage.input_tokens);
    expect(uncached.usage.cache_read_input_tokens).toBe(0);
  });

  it('fails the next request with 429 and retry-after, then recovers', async () => {
    sim.failNext(1, 429, 7);
    const error = await client.messages.create({ model: MODEL, max_tokens: 10, messages: QUESTION }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    const rateLimited = error as RateLimitError;
    expect(rateLimited.headers.get('retry-after')).toBe('7');
    expect(rateLimited.requestID).toMatch(/^req_/);
    expect(rateLimited.error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });

    await expect(client.messages.create({ model: MODEL, max_tokens: 10, messages: QUESTION })).resolves.toMatchObject({
      type: 'message',
    });
  });

  it('reports 529 as an overloaded error, also for streams', async () => {
    sim.failNext(2, 529);
    await expect(client.messages.create({ model: MODEL, max_tokens: 10, messages: QUESTION })).rejects.toBeInstanceOf(
      OverloadedError,
    );
    const error = await client.messages
      .stream({ model: MODEL, max_tokens: 10, messages: QUESTION })
      .finalMessage()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OverloadedError);
    expect((error as OverloadedError).error).toMatchObject({ error: { type: 'overloaded_error' } });
  });

  it('rejects an invalid request with 400 invalid_request_error', async () => {
    const error = await client.messages
      .create({ model: MODEL, max_tokens: 0, messages: QUESTION })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).error).toMatchObject({
      error: { type: 'invalid_request_error', message: expect.stringMatching(/^max_tokens/) },
    });
  });

  it('speaks the wire format: request-id header, error envelope, x-api-key auth', async () => {
    const headers = { 'x-api-key': 'sk-test', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' };
    const ok = await fetch(`${sim.url}/v1/models`, { headers });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('request-id')).toMatch(/^req_/);

    const anonymous = await fetch(`${sim.url}/v1/models`, { headers: { 'anthropic-version': '2023-06-01' } });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual({
      type: 'error',
      error: { type: 'authentication_error', message: expect.any(String) },
      request_id: anonymous.headers.get('request-id'),
    });

    const malformed = await fetch(`${sim.url}/v1/messages`, { method: 'POST', headers, body: '{"model":' });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: { type: 'invalid_request_error' } });

    const unknown = await fetch(`${sim.url}/v1/complete`, { method: 'POST', headers, body: '{}' });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { type: 'not_found_error' } });
  });

  it('lists models with a valid key and pages through them', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list({ limit: 1 })) ids.push(model.id);
    expect(ids).toContain(MODEL);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBeGreaterThan(1);
  });

  it('answers a rejected key with AuthenticationError', async () => {
    const revoked = new Anthropic({ apiKey: 'sk-revoked', baseURL: sim.url, maxRetries: 0 });
    const error = await revoked.models.list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as AuthenticationError).error).toMatchObject({ error: { type: 'authentication_error' } });
  });
});

describe('simulated Anthropic API: client going away mid-stream', () => {
  let slow: SimulatedAnthropicHandle;

  beforeAll(async () => {
    // The first token never comes within the test, so the abort always lands mid-generation.
    slow = await startSimulatedAnthropic({ firstTokenMs: 600_000, tokenDelayMs: 0 });
  });

  afterAll(async () => {
    await slow.close();
  });

  it('stops generating and records the abort', async () => {
    const client = new Anthropic({ apiKey: 'sk-test', baseURL: slow.url, maxRetries: 0 });
    const controller = new AbortController();
    const stream = client.messages.stream(
      { model: MODEL, max_tokens: 1024, tools: TOOLS, messages: QUESTION },
      { signal: controller.signal },
    );
    const started = new Promise<void>((resolve) => {
      stream.on('streamEvent', (event) => {
        if (event.type === 'message_start') resolve();
      });
    });
    const outcome = stream.finalMessage().catch((e: unknown) => e);
    await started;
    expect(slow.stats.active).toBe(1);

    const aborted = once(slow.events, 'aborted');
    controller.abort();
    const [requestId] = await aborted;

    expect(requestId).toMatch(/^req_/);
    expect(await outcome).toBeInstanceOf(APIUserAbortError);
    expect(slow.stats).toMatchObject({ requests: 1, streams: 1, aborted: 1, active: 0 });
  });
});
