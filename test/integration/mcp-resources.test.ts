/**
 * Resources, resource templates, prompts and completions through the gateway's /mcp, aggregated over
 * two upstreams (the conformance fixture serving both eras, and one serving 2025-era only), for an SDK
 * v2 client and an SDK v1 client: gateway URIs and qualified names, role boundaries (hidden or not
 * granted answers exactly like unknown), bad input, pagination, audit, resource links in tool results,
 * subscriptions delivered only to the subscriber, and list changes forwarded.
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as LegacyTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { PromptListChangedNotificationSchema, ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../../src/app.js';
import { DEV_CLIENT_ID, startDevIssuer, type DevIssuer } from '../../src/dev/dev-issuer.js';
import { AuditLog } from '../../src/ops/audit.js';
import { startConformanceFixture, type ConformanceFixture } from '../conformance/fixture-server.js';
import { issuerOnlyConfig, waitFor } from '../helpers/stack.js';

let issuer: DevIssuer;
let fx: ConformanceFixture;
let old: ConformanceFixture;
/** Stopped by the test of an upstream that went away. */
let gone: ConformanceFixture;
let gateway: Gateway;
let url = '';

const FX = (uri: string): string => `mcp-gateway://fx/${uri}`;
const OLD = (uri: string): string => `mcp-gateway://old/${uri}`;

beforeAll(async () => {
  [issuer, fx, old, gone] = await Promise.all([startDevIssuer({ clientId: DEV_CLIENT_ID }), startConformanceFixture(), startConformanceFixture({ eras: 'legacy' }), startConformanceFixture()]);
  const config = issuerOnlyConfig(issuer, {
    servers: {
      fx: {
        url: fx.url,
        description: 'Fixture, both eras',
        roles: ['employee'],
        resources: { 'test://static-binary': { roles: ['hr-read'] }, 'test://watched-resource': { hidden: true } },
        prompts: { test_prompt_with_image: { hidden: true }, test_prompt_with_arguments: { roles: ['hr-read'] } },
      },
      // Unprefixed, but every URI, template and prompt name collides with fx's: all stay prefixed.
      old: { url: old.url, description: 'Fixture, 2025 era only', roles: ['hr-read'], unprefixed: true },
      gone: { url: gone.url, description: 'Fixture that goes away', roles: ['gateway-admin'] },
    },
    mcp: { pageSize: 2 },
    llm: { apiKey: 'unused' },
  });
  gateway = await createGateway(config);
  url = `${await gateway.listen()}/mcp`;
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([issuer?.close(), fx?.close(), old?.close(), gone?.close()]);
});

type Era = 'modern' | 'legacy';

/** The requests both SDKs make, behind one face (v1 pages by hand; v2 aggregates pages itself). */
interface McpCaller {
  listResources(): Promise<string[]>;
  listTemplates(): Promise<string[]>;
  listPrompts(): Promise<string[]>;
  read(uri: string): Promise<{ contents: Array<{ uri: string; text?: string; blob?: string }> }>;
  getPrompt(name: string, args?: Record<string, string>): Promise<{ messages: Array<{ content: { type: string; text?: string; resource?: { uri: string } } }> }>;
  complete(ref: { type: 'ref/prompt'; name: string } | { type: 'ref/resource'; uri: string }, argument: { name: string; value: string }): Promise<string[]>;
  callTool(name: string): Promise<Array<{ type: string; uri?: string; resource?: { uri: string } }>>;
  close(): Promise<void>;
}

async function modern(username: string): Promise<McpCaller & { client: Client }> {
  const client = new Client({ name: 'resources-test', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  const token = await issuer.tokenFor(username);
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
  const fresh = { cacheMode: 'bypass' as const };
  return {
    client,
    listResources: async () => (await client.listResources(undefined, fresh)).resources.map((resource) => resource.uri),
    listTemplates: async () => (await client.listResourceTemplates(undefined, fresh)).resourceTemplates.map((template) => template.uriTemplate),
    listPrompts: async () => (await client.listPrompts(undefined, fresh)).prompts.map((prompt) => prompt.name),
    read: async (uri) => (await client.readResource({ uri }, fresh)),
    getPrompt: async (name, args) => (await client.getPrompt({ name, ...(args === undefined ? {} : { arguments: args }) })),
    complete: async (ref, argument) => (await client.complete({ ref, argument })).completion.values,
    callTool: async (name) => (await client.callTool({ name, arguments: {} })).content,
    close: () => client.close(),
  };
}

async function legacy(username: string): Promise<McpCaller & { client: LegacyClient }> {
  const client = new LegacyClient({ name: 'resources-test-v1', version: '1.0.0' });
  const token = await issuer.tokenFor(username);
  await client.connect(new LegacyTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  async function all<T>(list: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor?: string | undefined }>): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | undefined;
    do {
      const next = await list(cursor);
      items.push(...next.items);
      cursor = next.nextCursor;
    } while (cursor !== undefined);
    return items;
  }
  const params = (cursor: string | undefined) => (cursor === undefined ? {} : { cursor });
  return {
    client,
    listResources: () => all(async (cursor) => client.listResources(params(cursor)).then((page) => ({ items: page.resources.map((resource) => resource.uri), nextCursor: page.nextCursor }))),
    listTemplates: () => all(async (cursor) => client.listResourceTemplates(params(cursor)).then((page) => ({ items: page.resourceTemplates.map((template) => template.uriTemplate), nextCursor: page.nextCursor }))),
    listPrompts: () => all(async (cursor) => client.listPrompts(params(cursor)).then((page) => ({ items: page.prompts.map((prompt) => prompt.name), nextCursor: page.nextCursor }))),
    read: async (uri) => (await client.readResource({ uri })),
    getPrompt: async (name, args) => (await client.getPrompt({ name, ...(args === undefined ? {} : { arguments: args }) })),
    complete: async (ref, argument) => (await client.complete({ ref, argument })).completion.values,
    callTool: async (name) => (await client.callTool({ name, arguments: {} })).content as never,
    close: () => client.close(),
  };
}

const callerFor = (era: Era, username: string): Promise<McpCaller> => (era === 'modern' ? modern(username) : legacy(username));

/** The JSON-RPC error a request fails with (code and message), for comparing two failures. */
async function failure(request: Promise<unknown>): Promise<{ code: unknown; message: string }> {
  const error = (await request.then(
    () => undefined,
    (caught: unknown) => caught,
  )) as { code?: unknown; message?: string } | undefined;
  expect(error, 'the request fails').toBeDefined();
  return { code: error?.code, message: error?.message ?? '' };
}

/** One 2025-era JSON-RPC request without a session, answered as JSON or as one SSE message. */
async function rawRequest(username: string, message: Record<string, unknown>): Promise<{ body: string; answer: { error?: { code: number } } }> {
  const token = await issuer.tokenFor(username);
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-06-18' },
    body: JSON.stringify({ jsonrpc: '2.0', ...message }),
  });
  const body = await response.text();
  return { body, answer: JSON.parse(body.startsWith('{') ? body : (/^data: (.*)$/m.exec(body)?.[1] ?? '{}')) as { error?: { code: number } } };
}

describe.each(['modern', 'legacy'] as const)('/mcp resources, prompts and completions, %s client', (era) => {
  it('lists resources, templates and prompts of the granted servers under gateway URIs and qualified names, page by page', async () => {
    const frank = await callerFor(era, 'frank.lee');
    const alice = await callerFor(era, 'alice.chen');
    try {
      // frank: fx only; the binary needs hr-read, the watched resource is hidden.
      expect((await frank.listResources()).sort()).toEqual([FX('test://static-text')]);
      expect(await frank.listTemplates()).toEqual([FX('test://template/{id}/data')]);
      expect((await frank.listPrompts()).sort()).toEqual(['fx__test_prompt_with_embedded_resource', 'fx__test_simple_prompt']);
      // alice: both servers (more than one page of 2); nothing hidden shows for anyone.
      expect((await alice.listResources()).sort()).toEqual([FX('test://static-binary'), FX('test://static-text'), OLD('test://static-binary'), OLD('test://static-text'), OLD('test://watched-resource')]);
      expect((await alice.listTemplates()).sort()).toEqual([FX('test://template/{id}/data'), OLD('test://template/{id}/data')]);
      expect((await alice.listPrompts()).sort()).toEqual([
        'fx__test_prompt_with_arguments',
        'fx__test_prompt_with_embedded_resource',
        'fx__test_simple_prompt',
        'old__test_prompt_with_arguments',
        'old__test_prompt_with_embedded_resource',
        'old__test_prompt_with_image',
        'old__test_simple_prompt',
      ]);
    } finally {
      await Promise.all([frank.close(), alice.close()]);
    }
  });

  it('reads a resource and a templated one through gateway URIs, and audits each read', async () => {
    const alice = await callerFor(era, 'alice.chen');
    try {
      const text = await alice.read(FX('test://static-text'));
      expect(text.contents).toEqual([expect.objectContaining({ uri: FX('test://static-text'), text: 'This is the content of the static text resource.' })]);
      const binary = await alice.read(OLD('test://static-binary'));
      expect(binary.contents[0]).toMatchObject({ uri: OLD('test://static-binary') });
      expect(binary.contents[0]?.blob?.length).toBeGreaterThan(0);
      // The client expands the gateway template; the gateway maps it back through that template.
      const templated = await alice.read(FX('test://template/a%20b/data'));
      expect(templated.contents[0]?.uri).toBe(FX('test://template/a%20b/data'));
      // The upstream gets the URI its own template expands to (as if the client had read it there).
      expect(JSON.parse(templated.contents[0]?.text ?? '{}')).toMatchObject({ id: 'a%20b' });
      const audit = new AuditLog(gateway.app.log, { store: gateway.store, maxRecords: 10_000, ttlMs: 3_600_000 });
      await waitFor(async () => (await audit.query({ user: 'alice.chen', limit: 1_000 })).some((record) => record.event === 'resource_read' && record.tool === 'test://template/a%20b/data'), {
        what: 'the audit record of the templated read',
      });
      const reads = (await audit.query({ user: 'alice.chen', limit: 1_000 })).filter((record) => record.event === 'resource_read');
      expect(reads.map((record) => `${record.server} ${record.tool} ${record.decision} ${record.outcome}`)).toEqual(
        expect.arrayContaining(['fx test://static-text allow ok', 'old test://static-binary allow ok']),
      );
    } finally {
      await alice.close();
    }
  });

  it('answers a resource that is hidden, not granted or unknown alike (-32602, resource not found)', async () => {
    const frank = await callerFor(era, 'frank.lee');
    try {
      const unknown = await failure(frank.read(FX('test://no-such-thing')));
      expect(unknown.code).toBe(-32602);
      const masked = (uri: string) => ({ code: unknown.code, message: unknown.message.replace(FX('test://no-such-thing'), uri) });
      for (const uri of [FX('test://static-binary'), FX('test://watched-resource'), OLD('test://static-text'), OLD('test://template/1/data'), 'test://static-text']) {
        expect(await failure(frank.read(uri)), uri).toEqual(masked(uri));
      }
    } finally {
      await frank.close();
    }
  });

  it('gets prompts under qualified names with gateway URIs inside, and audits each', async () => {
    const alice = await callerFor(era, 'alice.chen');
    try {
      expect((await alice.getPrompt('fx__test_simple_prompt')).messages[0]?.content.text).toBe('This is a simple prompt for testing.');
      expect((await alice.getPrompt('old__test_prompt_with_arguments', { arg1: 'a', arg2: 'b' })).messages[0]?.content.text).toBe("Prompt with arguments: arg1='a', arg2='b'");
      const embedded = await alice.getPrompt('fx__test_prompt_with_embedded_resource', { resourceUri: 'test://static-text' });
      expect(embedded.messages[0]?.content.resource?.uri).toBe(FX('test://static-text'));
      const audit = new AuditLog(gateway.app.log, { store: gateway.store, maxRecords: 10_000, ttlMs: 3_600_000 });
      await waitFor(async () => (await audit.query({ user: 'alice.chen', limit: 1_000 })).some((record) => record.event === 'prompt_get' && record.server === 'old'), { what: 'the prompt audit record' });
    } finally {
      await alice.close();
    }
  });

  it('answers a prompt that is hidden, not granted or unknown alike, and a missing required argument as invalid params', async () => {
    const frank = await callerFor(era, 'frank.lee');
    const alice = await callerFor(era, 'alice.chen');
    try {
      const unknown = await failure(frank.getPrompt('fx__no_such_prompt'));
      expect(unknown.code).toBe(-32602);
      for (const name of ['fx__test_prompt_with_image', 'fx__test_prompt_with_arguments', 'old__test_simple_prompt', 'test_simple_prompt']) {
        expect(await failure(frank.getPrompt(name, { arg1: 'a', arg2: 'b' })), name).toEqual({ code: -32602, message: unknown.message.replace('fx__no_such_prompt', name) });
      }
      const missing = await failure(alice.getPrompt('fx__test_prompt_with_arguments', { arg1: 'a' }));
      expect(missing.code).toBe(-32602);
      expect(missing.message).toContain('MCP_2010');
    } finally {
      await Promise.all([frank.close(), alice.close()]);
    }
  });

  it('completes prompt and template arguments of what the caller may use, and nothing else', async () => {
    const frank = await callerFor(era, 'frank.lee');
    const alice = await callerFor(era, 'alice.chen');
    try {
      expect(await alice.complete({ type: 'ref/prompt', name: 'fx__test_prompt_with_arguments' }, { name: 'arg1', value: 'pa' })).toEqual(['paris', 'park', 'party']);
      expect(await frank.complete({ type: 'ref/resource', uri: FX('test://template/{id}/data') }, { name: 'id', value: '4' })).toEqual(['456']);
      const unknown = await failure(frank.complete({ type: 'ref/prompt', name: 'fx__nothing' }, { name: 'arg1', value: 'p' }));
      expect(unknown.code).toBe(-32602);
      expect(await failure(frank.complete({ type: 'ref/prompt', name: 'fx__test_prompt_with_arguments' }, { name: 'arg1', value: 'p' }))).toEqual({
        code: -32602,
        message: unknown.message.replace('fx__nothing', 'fx__test_prompt_with_arguments'),
      });
      expect((await failure(frank.complete({ type: 'ref/resource', uri: OLD('test://template/{id}/data') }, { name: 'id', value: '1' }))).code).toBe(-32602);
    } finally {
      await Promise.all([frank.close(), alice.close()]);
    }
  });

  it('rewrites resource links and embedded resources in tool results to gateway URIs the client can read', async () => {
    const frank = await callerFor(era, 'frank.lee');
    try {
      const content = await frank.callTool('fx__test_multiple_content_types');
      const link = content.find((block) => block.type === 'resource_link');
      expect(link?.uri).toBe(FX('test://static-text'));
      expect((await frank.read(link?.uri ?? '')).contents[0]?.text).toBe('This is the content of the static text resource.');
      // Neither listed nor covered by a template: there is no gateway URI for it, so it stays as it is.
      expect(content.find((block) => block.type === 'resource')?.resource?.uri).toBe('test://mixed-content-resource');
    } finally {
      await frank.close();
    }
  });
});

describe('/mcp bad input', () => {
  it('refuses a cursor the gateway did not make, and a request without its parameters, as invalid params', async () => {
    const caller = await legacy('frank.lee');
    try {
      for (const cursor of ['bogus', Buffer.from('after:x').toString('base64url').slice(0, -1)]) {
        expect((await failure(caller.client.listResources({ cursor }))).code).toBe(-32602);
        expect((await failure(caller.client.listPrompts({ cursor }))).code).toBe(-32602);
      }
      const { body, answer } = await rawRequest('frank.lee', { id: 1, method: 'resources/read', params: {} });
      expect(answer.error?.code, body).toBe(-32602);
    } finally {
      await caller.close();
    }
  });
});

describe('/mcp when an upstream fails', () => {
  it('answers a read, a prompt and a completion with -32000 and the catalogued code, never an internal error', async () => {
    const admin = await legacy('ops.admin');
    try {
      expect(await admin.listResources()).toContain('mcp-gateway://gone/test://static-text');
      await gone.close();
      // One at a time: a request made before the previous one's failure is awaited would reject unhandled.
      for (const request of [
        () => admin.read('mcp-gateway://gone/test://static-text'),
        () => admin.getPrompt('gone__test_simple_prompt'),
        () => admin.complete({ type: 'ref/resource', uri: 'mcp-gateway://gone/test://template/{id}/data' }, { name: 'id', value: '1' }),
      ]) {
        const failed = await failure(request());
        expect(failed.code).toBe(-32000);
        expect(failed.message).toMatch(/MCP_200[123]/);
      }
    } finally {
      await admin.close();
    }
  });
});

describe('/mcp subscriptions and list changes', () => {
  it('delivers a resource update to the 2025 session that subscribed, and to no other', async () => {
    const subscriber = await legacy('alice.chen');
    const bystander = await legacy('alice.chen');
    const updates: string[] = [];
    const overheard: string[] = [];
    subscriber.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => void updates.push(notification.params.uri));
    bystander.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => void overheard.push(notification.params.uri));
    try {
      await subscriber.client.subscribeResource({ uri: OLD('test://watched-resource') });
      // The 2025-era upstream holds the gateway's subscription.
      expect([...old.seen.subscriptions]).toEqual(['test://watched-resource']);
      old.resourceUpdated('test://watched-resource');
      await waitFor(() => updates.length > 0, { what: 'the resource update' });
      expect(updates).toEqual([OLD('test://watched-resource')]);
      await bystander.client.ping();
      expect(overheard).toEqual([]);
      await subscriber.client.unsubscribeResource({ uri: OLD('test://watched-resource') });
      await waitFor(() => old.seen.subscriptions.size === 0, { what: 'the upstream unsubscription' });
    } finally {
      await Promise.all([subscriber.close(), bystander.close()]);
    }
  });

  it('delivers an update from a 2026-07-28 upstream to a 2026-07-28 listener and a 2025 session that asked for it', async () => {
    const listener = await modern('alice.chen');
    const session = await legacy('frank.lee');
    const heard: string[] = [];
    const sessionHeard: string[] = [];
    listener.client.setNotificationHandler('notifications/resources/updated', (notification) => void heard.push(notification.params.uri));
    session.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => void sessionHeard.push(notification.params.uri));
    try {
      const subscription = await listener.client.listen({ resourceSubscriptions: [FX('test://static-binary')] });
      await session.client.subscribeResource({ uri: FX('test://static-text') });
      fx.resourceUpdated('test://static-binary');
      fx.resourceUpdated('test://static-text');
      await waitFor(() => heard.length > 0 && sessionHeard.length > 0, { what: 'both updates' });
      expect(heard).toEqual([FX('test://static-binary')]);
      expect(sessionHeard).toEqual([FX('test://static-text')]);
      await subscription.close();
    } finally {
      await Promise.all([listener.close(), session.close()]);
    }
  });

  it('offers no subscriptions to a 2025-era request without a session (nothing could come back to it)', async () => {
    const { body, answer } = await rawRequest('alice.chen', { id: 7, method: 'resources/subscribe', params: { uri: OLD('test://watched-resource') } });
    expect(answer.error?.code, body).toBe(-32601);
    expect(old.seen.subscriptions.size).toBe(0);
  });

  it('refuses a subscription to a resource the caller may not read like one to an unknown resource', async () => {
    const frank = await legacy('frank.lee');
    const listener = await modern('frank.lee');
    try {
      const unknown = await failure(frank.client.subscribeResource({ uri: FX('test://nothing') }));
      expect(unknown.code).toBe(-32602);
      expect(await failure(frank.client.subscribeResource({ uri: FX('test://static-binary') }))).toEqual({ code: -32602, message: unknown.message.replace(FX('test://nothing'), FX('test://static-binary')) });
      expect((await failure(listener.client.listen({ resourceSubscriptions: [FX('test://static-binary')] }))).code).toBe(-32602);
    } finally {
      await Promise.all([frank.close(), listener.close()]);
    }
  });

  it('forwards a list change to the 2025 sessions of users the server is granted to, and to no others', async () => {
    const granted = await legacy('alice.chen');
    const notGranted = await legacy('frank.lee');
    let grantedHeard = 0;
    let notGrantedHeard = 0;
    granted.client.setNotificationHandler(PromptListChangedNotificationSchema, () => void (grantedHeard += 1));
    notGranted.client.setNotificationHandler(PromptListChangedNotificationSchema, () => void (notGrantedHeard += 1));
    try {
      old.listChanged('prompts');
      await waitFor(() => grantedHeard > 0, { what: 'the forwarded list change' });
      await notGranted.client.ping();
      expect(notGrantedHeard).toBe(0);
    } finally {
      await Promise.all([granted.close(), notGranted.close()]);
    }
  });

  it('forwards an upstream list change to 2025 sessions and 2026-07-28 listeners, and lists afresh', async () => {
    const session = await legacy('frank.lee');
    const listener = await modern('frank.lee');
    let sessionHeard = 0;
    let listenerHeard = 0;
    session.client.setNotificationHandler(PromptListChangedNotificationSchema, () => void (sessionHeard += 1));
    listener.client.setNotificationHandler('notifications/prompts/list_changed', () => void (listenerHeard += 1));
    try {
      const subscription = await listener.client.listen({ promptsListChanged: true });
      fx.listChanged('prompts');
      await waitFor(() => sessionHeard > 0 && listenerHeard > 0, { what: 'the forwarded list change' });
      expect((await session.listPrompts()).sort()).toEqual(['fx__test_prompt_with_embedded_resource', 'fx__test_simple_prompt']);
      await subscription.close();
    } finally {
      await Promise.all([session.close(), listener.close()]);
    }
  });
});
