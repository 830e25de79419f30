/**
 * The conformance fixture: an MCP server on the official SDK v2 implementing what each server scenario
 * of `@modelcontextprotocol/conformance` asks for (tools with text/image/audio/resource content,
 * logging, progress, errors, sampling and elicitation; static, binary, templated and subscribable
 * resources; prompts with arguments, images and embedded resources; completions), written from the
 * scenario descriptions. It serves both protocol eras: 2025-era clients (the conformance suite itself
 * speaks 2025-11-25) get a sessionful Streamable HTTP transport, so a request the server sends back
 * (elicitation, sampling) can be answered on the same session; 2026-07-28 clients get the SDK's
 * per-request handler. Handlers are written once with `inputRequired`, which the SDK turns into real
 * server→client requests on the 2025 path.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeHandler } from '@modelcontextprotocol/node';
import {
  createMcpHandler,
  hostHeaderValidationResponse,
  inputRequired,
  isLegacyRequest,
  localhostAllowedHostnames,
  Server,
  WebStandardStreamableHTTPServerTransport,
  type CallToolResult,
  type ServerContext,
  type Tool,
} from '@modelcontextprotocol/server';

/** A 1×1 red PNG. */
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';
/** A tiny silent WAV (44-byte header, two samples). */
const WAV = 'UklGRigAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQQAAACAgICA';

const delay = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      },
      { once: true },
    );
  });

const text = (value: string): CallToolResult => ({ content: [{ type: 'text', text: value }] });
const noArgs = { type: 'object' as const, properties: {} };

const TOOLS: Tool[] = [
  { name: 'test_simple_text', description: 'Returns simple text content', inputSchema: noArgs, annotations: { readOnlyHint: true } },
  { name: 'test_image_content', description: 'Returns image content', inputSchema: noArgs, annotations: { readOnlyHint: true } },
  { name: 'test_audio_content', description: 'Returns audio content', inputSchema: noArgs, annotations: { readOnlyHint: true } },
  { name: 'test_embedded_resource', description: 'Returns an embedded resource', inputSchema: noArgs, annotations: { readOnlyHint: true } },
  { name: 'test_multiple_content_types', description: 'Returns text, image and resource content', inputSchema: noArgs, annotations: { readOnlyHint: true } },
  { name: 'test_tool_with_logging', description: 'Sends three log messages while it runs', inputSchema: noArgs, annotations: { readOnlyHint: true } },
  { name: 'test_error_handling', description: 'Always fails with a tool error', inputSchema: noArgs, annotations: { readOnlyHint: true } },
  { name: 'test_tool_with_progress', description: 'Reports progress 0, 50 and 100 of 100', inputSchema: noArgs, annotations: { readOnlyHint: true } },
  {
    name: 'test_sampling',
    description: 'Asks the client for an LLM completion',
    inputSchema: { type: 'object', properties: { prompt: { type: 'string', description: 'The prompt to send to the LLM' } }, required: ['prompt'] },
    annotations: { readOnlyHint: true },
  },
  {
    name: 'test_elicitation',
    description: 'Asks the user for a username and email',
    inputSchema: { type: 'object', properties: { message: { type: 'string', description: 'The message to show the user' } }, required: ['message'] },
    annotations: { readOnlyHint: true },
  },
  { name: 'test_elicitation_sep1034_defaults', description: 'Elicitation with default values for every primitive type', inputSchema: noArgs, annotations: { readOnlyHint: true } },
  { name: 'test_elicitation_sep1330_enums', description: 'Elicitation with the five enum schema variants', inputSchema: noArgs, annotations: { readOnlyHint: true } },
  {
    name: 'json_schema_2020_12_tool',
    description: 'Tool with JSON Schema 2020-12 features',
    inputSchema: {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      $defs: { address: { type: 'object', properties: { street: { type: 'string' }, city: { type: 'string' } } } },
      properties: { name: { type: 'string' }, address: { $ref: '#/$defs/address' } },
      additionalProperties: false,
    },
    annotations: { readOnlyHint: true },
  },
  { name: 'test_reconnection', description: 'Answers after a short pause (SSE polling scenario)', inputSchema: noArgs, annotations: { readOnlyHint: true } },
  {
    name: 'test_slow',
    title: 'Slow tool',
    description: 'Reports progress every 100 ms for `seconds` seconds; stops when cancelled',
    inputSchema: { type: 'object', properties: { seconds: { type: 'number', minimum: 0, maximum: 30 } }, required: ['seconds'] },
    outputSchema: { type: 'object', properties: { ticks: { type: 'number' } }, required: ['ticks'] },
    icons: [{ src: `data:image/png;base64,${PNG}`, mimeType: 'image/png' }],
    annotations: { readOnlyHint: true },
  },
];

const RESOURCES = [
  { uri: 'test://static-text', name: 'static-text', description: 'A static text resource', mimeType: 'text/plain' },
  { uri: 'test://static-binary', name: 'static-binary', description: 'A static binary resource (PNG)', mimeType: 'image/png' },
  { uri: 'test://watched-resource', name: 'watched-resource', description: 'A resource clients may subscribe to', mimeType: 'text/plain' },
];

const TEMPLATE = { uriTemplate: 'test://template/{id}/data', name: 'template-data', description: 'Data for an id', mimeType: 'application/json' };
const TEMPLATE_PATTERN = /^test:\/\/template\/([^/]+)\/data$/;

const PROMPTS = [
  { name: 'test_simple_prompt', description: 'A simple prompt without arguments' },
  {
    name: 'test_prompt_with_arguments',
    description: 'A prompt with two required arguments',
    arguments: [
      { name: 'arg1', description: 'First test argument', required: true },
      { name: 'arg2', description: 'Second test argument', required: true },
    ],
  },
  {
    name: 'test_prompt_with_embedded_resource',
    description: 'A prompt embedding a resource',
    arguments: [{ name: 'resourceUri', description: 'URI of the resource to embed', required: true }],
  },
  { name: 'test_prompt_with_image', description: 'A prompt with an image' },
];

const COMPLETIONS: Record<string, string[]> = { arg1: ['paris', 'park', 'party', 'test-value'], id: ['123', '456', '789'] };

export interface FixtureObservations {
  /** Subscriptions currently held, by URI (resources/subscribe minus resources/unsubscribe). */
  readonly subscriptions: ReadonlySet<string>;
  /** test_slow calls that ended because their request was cancelled. */
  cancelledCalls: number;
  /** test_slow calls that ran to the end. */
  completedSlowCalls: number;
}

async function callTool(name: string, args: Record<string, unknown>, ctx: ServerContext, seen: FixtureObservations): Promise<CallToolResult | ReturnType<typeof inputRequired>> {
  const responses = ctx.mcpReq.inputResponses ?? {};
  switch (name) {
    case 'test_simple_text':
      return text('This is a simple text response for testing.');
    case 'test_image_content':
      return { content: [{ type: 'image', data: PNG, mimeType: 'image/png' }] };
    case 'test_audio_content':
      return { content: [{ type: 'audio', data: WAV, mimeType: 'audio/wav' }] };
    case 'test_embedded_resource':
      return { content: [{ type: 'resource', resource: { uri: 'test://embedded-resource', mimeType: 'text/plain', text: 'This is an embedded resource content.' } }] };
    case 'test_multiple_content_types':
      return {
        content: [
          { type: 'text', text: 'Multiple content types test:' },
          { type: 'image', data: PNG, mimeType: 'image/png' },
          { type: 'resource', resource: { uri: 'test://mixed-content-resource', mimeType: 'application/json', text: '{"test":"data","value":123}' } },
          { type: 'resource_link', uri: 'test://static-text', name: 'static-text', mimeType: 'text/plain' },
        ],
      };
    case 'test_tool_with_logging':
      await ctx.mcpReq.log('info', 'Tool execution started');
      await delay(50);
      await ctx.mcpReq.log('info', 'Tool processing data');
      await delay(50);
      await ctx.mcpReq.log('info', 'Tool execution completed');
      return text('Tool with logging executed successfully');
    case 'test_error_handling':
      return { content: [{ type: 'text', text: 'This tool intentionally returns an error for testing' }], isError: true };
    case 'test_tool_with_progress': {
      const token = ctx.mcpReq._meta?.progressToken;
      for (const progress of [0, 50, 100]) {
        if (token !== undefined) await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken: token, progress, total: 100 } });
        if (progress < 100) await delay(50);
      }
      return text('Tool with progress executed successfully');
    }
    case 'test_slow': {
      const token = ctx.mcpReq._meta?.progressToken;
      const ticks = Math.round(Number(args.seconds ?? 0) * 10);
      try {
        for (let tick = 1; tick <= ticks; tick += 1) {
          await delay(100, ctx.mcpReq.signal);
          if (token !== undefined) await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken: token, progress: tick, total: ticks } });
        }
      } catch (error) {
        if (ctx.mcpReq.signal.aborted) seen.cancelledCalls += 1;
        throw error;
      }
      seen.completedSlowCalls += 1;
      return { content: [{ type: 'text', text: `done after ${ticks} ticks` }], structuredContent: { ticks } };
    }
    case 'test_sampling': {
      const answer = responses.sample as { content?: { type?: string; text?: string } } | undefined;
      if (answer === undefined) {
        return inputRequired({
          inputRequests: {
            sample: inputRequired.createMessage({ messages: [{ role: 'user', content: { type: 'text', text: String(args.prompt) } }], maxTokens: 100 }),
          },
        });
      }
      return text(`LLM response: ${answer.content?.type === 'text' ? (answer.content.text ?? '') : JSON.stringify(answer.content)}`);
    }
    case 'test_elicitation': {
      const answer = responses.user as { action?: string; content?: unknown } | undefined;
      if (answer === undefined) {
        return inputRequired({
          inputRequests: {
            user: inputRequired.elicit({
              message: String(args.message),
              requestedSchema: {
                type: 'object',
                properties: { username: { type: 'string', description: "User's response" }, email: { type: 'string', description: "User's email address" } },
                required: ['username', 'email'],
              },
            }),
          },
        });
      }
      return text(`User response: action=${answer.action ?? 'unknown'}, content=${JSON.stringify(answer.content ?? {})}`);
    }
    case 'test_elicitation_sep1034_defaults': {
      const answer = responses.defaults as { action?: string; content?: unknown } | undefined;
      if (answer === undefined) {
        return inputRequired({
          inputRequests: {
            defaults: inputRequired.elicit({
              message: 'Please review and update the form fields with defaults',
              requestedSchema: {
                type: 'object',
                properties: {
                  name: { type: 'string', description: 'User name', default: 'John Doe' },
                  age: { type: 'integer', description: 'User age', default: 30 },
                  score: { type: 'number', description: 'User score', default: 95.5 },
                  status: { type: 'string', description: 'User status', enum: ['active', 'inactive', 'pending'], default: 'active' },
                  verified: { type: 'boolean', description: 'Verification status', default: true },
                },
                required: [],
              },
            }),
          },
        });
      }
      return text(`Elicitation completed: action=${answer.action ?? 'unknown'}, content=${JSON.stringify(answer.content ?? {})}`);
    }
    case 'test_elicitation_sep1330_enums': {
      const answer = responses.enums as { action?: string; content?: unknown } | undefined;
      if (answer === undefined) {
        return inputRequired({
          inputRequests: {
            enums: inputRequired.elicit({
              message: 'Please pick from the enum fields',
              requestedSchema: {
                type: 'object',
                properties: {
                  untitledSingle: { type: 'string', enum: ['option1', 'option2', 'option3'] },
                  titledSingle: {
                    type: 'string',
                    oneOf: [
                      { const: 'value1', title: 'First Option' },
                      { const: 'value2', title: 'Second Option' },
                      { const: 'value3', title: 'Third Option' },
                    ],
                  },
                  legacyEnum: { type: 'string', enum: ['opt1', 'opt2', 'opt3'], enumNames: ['Option One', 'Option Two', 'Option Three'] },
                  untitledMulti: { type: 'array', items: { type: 'string', enum: ['option1', 'option2', 'option3'] } },
                  titledMulti: {
                    type: 'array',
                    items: {
                      anyOf: [
                        { const: 'value1', title: 'First Choice' },
                        { const: 'value2', title: 'Second Choice' },
                        { const: 'value3', title: 'Third Choice' },
                      ],
                    },
                  },
                },
                required: [],
              },
            }),
          },
        });
      }
      return text(`Elicitation completed: action=${answer.action ?? 'unknown'}, content=${JSON.stringify(answer.content ?? {})}`);
    }
    case 'json_schema_2020_12_tool':
      return text(`Received ${JSON.stringify(args)}`);
    case 'test_reconnection':
      await delay(100);
      return text('Reconnection test completed successfully');
    default:
      throw new Error(`Unknown tool: ${name}`);
  }
}

function readResource(uri: string): { contents: Array<Record<string, unknown>> } {
  if (uri === 'test://static-text') return { contents: [{ uri, mimeType: 'text/plain', text: 'This is the content of the static text resource.' }] };
  if (uri === 'test://static-binary') return { contents: [{ uri, mimeType: 'image/png', blob: PNG }] };
  if (uri === 'test://watched-resource') return { contents: [{ uri, mimeType: 'text/plain', text: 'Watched resource content.' }] };
  const id = TEMPLATE_PATTERN.exec(uri)?.[1];
  if (id !== undefined) return { contents: [{ uri, mimeType: 'application/json', text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }) }] };
  throw Object.assign(new Error(`Resource not found: ${uri}`), { code: -32002 });
}

function getPrompt(name: string, args: Record<string, string>): { messages: Array<Record<string, unknown>> } {
  switch (name) {
    case 'test_simple_prompt':
      return { messages: [{ role: 'user', content: { type: 'text', text: 'This is a simple prompt for testing.' } }] };
    case 'test_prompt_with_arguments':
      return { messages: [{ role: 'user', content: { type: 'text', text: `Prompt with arguments: arg1='${args.arg1 ?? ''}', arg2='${args.arg2 ?? ''}'` } }] };
    case 'test_prompt_with_embedded_resource':
      return {
        messages: [
          { role: 'user', content: { type: 'resource', resource: { uri: args.resourceUri ?? 'test://example-resource', mimeType: 'text/plain', text: 'Embedded resource content for testing.' } } },
          { role: 'user', content: { type: 'text', text: 'Please process the embedded resource above.' } },
        ],
      };
    case 'test_prompt_with_image':
      return {
        messages: [
          { role: 'user', content: { type: 'image', data: PNG, mimeType: 'image/png' } },
          { role: 'user', content: { type: 'text', text: 'Please analyze the image above.' } },
        ],
      };
    default:
      throw Object.assign(new Error(`Unknown prompt: ${name}`), { code: -32602 });
  }
}

function buildServer(seen: FixtureObservations & { subscriptions: Set<string> }): Server {
  const server = new Server(
    { name: 'conformance-fixture', title: 'Conformance fixture', version: '1.0.0' },
    {
      capabilities: {
        tools: { listChanged: true },
        resources: { subscribe: true, listChanged: true },
        prompts: { listChanged: true },
        logging: {},
        completions: {},
      },
    },
  );
  server.setRequestHandler('tools/list', () => ({ tools: TOOLS }));
  server.setRequestHandler('tools/call', (request, ctx) => callTool(request.params.name, request.params.arguments ?? {}, ctx, seen));
  server.setRequestHandler('resources/list', () => ({ resources: RESOURCES }));
  server.setRequestHandler('resources/templates/list', () => ({ resourceTemplates: [TEMPLATE] }));
  server.setRequestHandler('resources/read', (request) => readResource(request.params.uri) as never);
  server.setRequestHandler('resources/subscribe', (request) => {
    seen.subscriptions.add(request.params.uri);
    return {};
  });
  server.setRequestHandler('resources/unsubscribe', (request) => {
    seen.subscriptions.delete(request.params.uri);
    return {};
  });
  server.setRequestHandler('prompts/list', () => ({ prompts: PROMPTS }));
  server.setRequestHandler('prompts/get', (request) => getPrompt(request.params.name, request.params.arguments ?? {}) as never);
  server.setRequestHandler('completion/complete', (request) => {
    const { name, value } = request.params.argument;
    const values = (COMPLETIONS[name] ?? []).filter((candidate) => candidate.startsWith(value));
    return { completion: { values, total: values.length, hasMore: false } };
  });
  return server;
}

export interface ConformanceFixture {
  /** `http://127.0.0.1:PORT/mcp` */
  readonly url: string;
  readonly seen: FixtureObservations;
  /** Sends `notifications/resources/updated` for `uri` to every client that subscribed to it (2025 sessions and listen streams). */
  resourceUpdated(uri: string): void;
  /** Sends `notifications/<kind>/list_changed` to every connected client. */
  listChanged(kind: 'tools' | 'resources' | 'prompts'): void;
  close(): Promise<void>;
}

export interface FixtureOptions {
  /** `both` (default): 2026-07-28 and 2025-era clients; `legacy`: 2025-era only, as an older server would. */
  eras?: 'both' | 'legacy';
}

export async function startConformanceFixture(options: FixtureOptions = {}): Promise<ConformanceFixture> {
  const seen = { subscriptions: new Set<string>(), cancelledCalls: 0, completedSlowCalls: 0 };
  const sessions = new Map<string, WebStandardStreamableHTTPServerTransport>();
  const sessionServers = new Map<string, Server>();
  const modern = createMcpHandler(() => buildServer(seen), { legacy: 'reject' });

  async function legacy(request: Request): Promise<Response> {
    const sessionId = request.headers.get('mcp-session-id');
    if (sessionId !== null) {
      const transport = sessions.get(sessionId);
      if (transport === undefined) return Response.json({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }, { status: 404 });
      return transport.handleRequest(request);
    }
    if (request.method !== 'POST') return Response.json({ jsonrpc: '2.0', error: { code: -32000, message: 'Missing session id' }, id: null }, { status: 400 });
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, transport);
        sessionServers.set(id, server);
      },
      onsessionclosed: (id) => {
        sessions.delete(id);
        sessionServers.delete(id);
      },
    });
    const server = buildServer(seen);
    await server.connect(transport);
    return transport.handleRequest(request);
  }

  const node = toNodeHandler({
    fetch: async (request) => {
      // DNS-rebinding protection, as the spec asks of a server on localhost without authentication.
      const rejected = hostHeaderValidationResponse(request, localhostAllowedHostnames());
      if (rejected !== undefined) return rejected;
      if (options.eras === 'legacy' || request.method !== 'POST' || request.headers.has('mcp-session-id') || (await isLegacyRequest(request))) return legacy(request);
      return modern.fetch(request);
    },
  });

  const http: HttpServer = createServer((req, res) => {
    if (req.url?.split('?')[0] !== '/mcp') {
      res.writeHead(404).end();
      return;
    }
    void node(req, res);
  });
  const address = await new Promise<AddressInfo>((resolve, reject) => {
    http.once('error', reject);
    http.listen(0, '127.0.0.1', () => resolve(http.address() as AddressInfo));
  });
  return {
    url: `http://127.0.0.1:${address.port}/mcp`,
    seen,
    resourceUpdated(uri) {
      modern.notify.resourceUpdated(uri);
      // A 2025 session hears of it only when it subscribed (the spec's rule).
      if (seen.subscriptions.has(uri)) for (const server of sessionServers.values()) void server.sendResourceUpdated({ uri }).catch(() => undefined);
    },
    listChanged(kind) {
      if (kind === 'tools') modern.notify.toolsChanged();
      else if (kind === 'resources') modern.notify.resourcesChanged();
      else modern.notify.promptsChanged();
      for (const server of sessionServers.values()) {
        const sent = kind === 'tools' ? server.sendToolListChanged() : kind === 'resources' ? server.sendResourceListChanged() : server.sendPromptListChanged();
        void sent.catch(() => undefined);
      }
    },
    async close() {
      await modern.close();
      await Promise.all([...sessions.values()].map((transport) => transport.close().catch(() => undefined)));
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
    },
  };
}
