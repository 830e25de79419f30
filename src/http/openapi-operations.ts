/**
 * What the OpenAPI document says about each operation beyond its route schema: id, summary, who
 * may call it, and every response with its body. Response bodies are documented here rather than as
 * Fastify response schemas because those would also serialise (and strip) what the routes send;
 * test/integration/openapi.test.ts checks real responses against these schemas.
 */
import { ERROR_CATALOGUE } from '../errors.js';
import { RUN_EVENT_TYPES, type RunEventType } from '../runs/events.js';

type Json = Record<string, unknown>;

export type ResponseName = 'BadRequest' | 'Unauthorized' | 'Forbidden' | 'NotFound' | 'Conflict' | 'TooManyRequests' | 'InternalError' | 'UpstreamFailure' | 'Unavailable';

export interface OperationDoc {
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  /** `public`: no token; `bearer`: an access token; `admin`: a token holding `auth.adminRole`. */
  auth: 'public' | 'bearer' | 'admin';
  /** Success responses (status → OpenAPI response object). */
  responses: Record<string, Json>;
  /** Error responses beyond the common ones (400 for input, 401/403/429 for tokens, 500). */
  errors?: Record<string, ResponseName>;
  /** Replaces the generated request body (e.g. a form the route parses itself). */
  requestBody?: Json;
}

export const TAGS = [
  { name: 'agent', description: 'Questions answered by Claude with the caller\'s tools, streamed as server-sent events.' },
  { name: 'tools', description: 'The caller, their tools, direct tool calls and confirmations.' },
  { name: 'admin', description: 'Revocations and tool definition pins (role `auth.adminRole`).' },
  { name: 'mcp', description: 'The gateway as one MCP server (Streamable HTTP).' },
  { name: 'auth', description: 'Keys and metadata for tokens and identity assertions; OIDC back-channel logout.' },
  { name: 'ops', description: 'Liveness, readiness, metrics and the console.' },
  { name: 'demo', description: 'The embedded demo only: demo users and their tokens.' },
  { name: 'other', description: 'Routes without their own documentation entry.' },
];

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json, description: string): Json => ({ description, content: { 'application/json': { schema } } });
const object = (properties: Json, required: string[] = Object.keys(properties), extra: Json = {}): Json => ({ type: 'object', required, properties, ...extra });
const str = { type: 'string' };
const strings = { type: 'array', items: str };
const anyObject = { type: 'object', additionalProperties: true };
const preview = { type: 'string', description: "What the arguments refer to (e.g. an employee's name), when the tool's config names a preview." };

const RUN_EVENT_DATA: Record<RunEventType, Json> = {
  run: object({ runId: str, conversationId: str, servers: strings, unavailable: strings }),
  text: object({ delta: str }),
  tool_call: object({ callId: str, server: str, tool: str, arguments: anyObject }),
  tool_result: object({ callId: str, ok: { type: 'boolean' }, isError: { type: 'boolean' }, durationMs: { type: 'number' }, truncated: { type: 'boolean' }, summary: str }),
  confirmation_required: object(
    { confirmationId: str, callId: str, server: str, tool: str, arguments: anyObject, expiresAt: { type: 'string', format: 'date-time' }, preview },
    ['confirmationId', 'callId', 'server', 'tool', 'arguments', 'expiresAt'],
  ),
  confirmation_resolved: object({ confirmationId: str, decision: { type: 'string', enum: ['approve', 'reject', 'expired', 'withdrawn'] } }),
  elicitation_required: object({
    elicitationId: str,
    callId: str,
    server: str,
    tool: str,
    message: str,
    requestedSchema: object({ type: { type: 'string', const: 'object' }, properties: anyObject, required: strings }, ['type', 'properties']),
    expiresAt: { type: 'string', format: 'date-time' },
  }),
  elicitation_resolved: object({ elicitationId: str, outcome: { type: 'string', enum: ['accept', 'decline', 'cancel', 'expired', 'withdrawn'] } }),
  sampling: object(
    { callId: str, server: str, tool: str, outcome: { type: 'string', enum: ['served', 'refused'] }, reason: str, inputTokens: { type: 'integer' }, outputTokens: { type: 'integer' } },
    ['callId', 'server', 'tool', 'outcome', 'inputTokens', 'outputTokens'],
  ),
  warning: object({ code: str, message: str }),
  usage: object({ inputTokens: { type: 'integer' }, outputTokens: { type: 'integer' }, cacheReadTokens: { type: 'integer' }, cacheCreationTokens: { type: 'integer' } }),
  error: ref('ErrorObject'),
  done: object({ status: { type: 'string', enum: ['completed', 'failed', 'cancelled', 'expired'] }, stopReason: { type: ['string', 'null'] } }),
};

const confirmation = object(
  { id: str, server: str, tool: str, arguments: anyObject, expiresAt: { type: 'string', format: 'date-time' }, runId: str, preview },
  ['id', 'server', 'tool', 'arguments', 'expiresAt'],
);

const toolSummary = object(
  { name: str, qualifiedName: str, description: str, readOnly: { type: 'boolean' }, requiresConfirmation: { type: 'boolean' } },
  ['name', 'qualifiedName', 'readOnly', 'requiresConfirmation'],
);

export const SCHEMAS: Json = {
  ErrorObject: object(
    {
      code: { type: 'string', enum: Object.keys(ERROR_CATALOGUE) },
      message: str,
      requestId: str,
      retryable: { type: 'boolean' },
      details: { description: 'Code-specific details.' },
    },
    ['code', 'message', 'requestId', 'retryable'],
  ),
  Error: object({ error: ref('ErrorObject') }),
  RunEvent: {
    description:
      'One server-sent event of a run: `event:` is the type, `id:` its position in the run log (resume with `Last-Event-ID`), `data:` the JSON object below. `: ping` comments are heartbeats.',
    oneOf: RUN_EVENT_TYPES.map((type) => object({ event: { type: 'string', const: type }, id: str, data: RUN_EVENT_DATA[type] })),
  },
  Readiness: object({
    status: { type: 'string', enum: ['healthy', 'degraded', 'unhealthy', 'shutting-down'] },
    reasons: { ...strings, description: 'Why the status is not `healthy`, one line per rule of the readiness matrix.' },
    checks: {
      type: 'object',
      additionalProperties: object(
        {
          role: { type: 'string', enum: ['store', 'identity-provider', 'revocations', 'upstream', 'model'] },
          state: { type: 'string', enum: ['up', 'degraded', 'down'] },
          ok: { type: 'boolean' },
          detail: str,
        },
        ['role', 'state', 'ok'],
      ),
    },
  }),
  Me: object(
    {
      sub: str,
      username: str,
      email: str,
      roles: strings,
      servers: { type: 'array', items: object({ name: str, description: str, available: { type: 'boolean' }, tools: { type: 'array', items: toolSummary } }) },
    },
    ['sub', 'username', 'roles', 'servers'],
  ),
  Tool: object(
    { name: str, qualifiedName: str, server: str, title: str, description: str, readOnly: { type: 'boolean' }, requiresConfirmation: { type: 'boolean' }, inputSchema: anyObject },
    ['name', 'qualifiedName', 'server', 'readOnly', 'requiresConfirmation', 'inputSchema'],
  ),
  CallToolResult: {
    type: 'object',
    description: 'The MCP `CallToolResult` as the tool server returned it.',
    required: ['content'],
    properties: { content: { type: 'array', items: anyObject }, structuredContent: anyObject, isError: { type: 'boolean' } },
  },
  Confirmation: confirmation,
};

const errorResponse = (description: string, headers?: Json): Json => ({
  description,
  ...(headers === undefined ? {} : { headers }),
  content: { 'application/json': { schema: ref('Error') } },
});

export const RESPONSES: Record<ResponseName, Json> = {
  BadRequest: errorResponse('The request is malformed or fails its schema (REQ_4000, REQ_4001, …).'),
  Unauthorized: errorResponse('No valid bearer token (AUTH_1001 missing, AUTH_1002 invalid, AUTH_1003 revoked).', {
    'WWW-Authenticate': { description: 'A Bearer challenge naming the protected-resource metadata.', schema: str },
  }),
  Forbidden: errorResponse('The token lacks a role this needs (AUTH_1004).'),
  NotFound: errorResponse('No such resource, or not the caller\'s.'),
  Conflict: errorResponse('Already decided or otherwise in a conflicting state.'),
  TooManyRequests: errorResponse('A rate limit or token budget was reached (RATE_4290, CLAUDE_3003).', {
    'Retry-After': { description: 'Seconds to wait.', schema: { type: 'integer' } },
  }),
  InternalError: errorResponse('An unexpected error; the request id finds it in the logs.'),
  UpstreamFailure: errorResponse('The tool server failed or timed out (MCP_2001, MCP_2002, …).'),
  Unavailable: errorResponse('A dependency is unavailable (circuit open, the store down: GATEWAY_9002 with Retry-After).', {
    'Retry-After': { description: 'Seconds to wait.', schema: { type: 'integer' } },
  }),
};

const sse: Json = {
  description: 'The run as server-sent events, from `run` to `done`.',
  content: { 'text/event-stream': { schema: ref('RunEvent') } },
};

export const OPERATIONS: Record<string, OperationDoc> = {
  'GET /health/live': { operationId: 'getLiveness', summary: 'Liveness: the process answers', tag: 'ops', auth: 'public', responses: { 200: json(object({ status: { type: 'string', const: 'alive' } }), 'Alive.') } },
  'GET /health/ready': {
    operationId: 'getReadiness',
    summary: 'Readiness with the dependency matrix',
    tag: 'ops',
    auth: 'public',
    responses: { 200: json(ref('Readiness'), '`healthy` or `degraded`: send traffic.'), 503: json(ref('Readiness'), '`unhealthy` or `shutting-down`: take out of rotation.') },
  },
  'GET /metrics': { operationId: 'getMetrics', summary: 'Prometheus metrics', tag: 'ops', auth: 'public', responses: { 200: { description: 'Prometheus text format.', content: { 'text/plain': { schema: str } } } }, errors: { 404: 'NotFound' } },
  'GET /': { operationId: 'getConsole', summary: 'The web console', tag: 'ops', auth: 'public', responses: { 200: { description: 'The console page.', content: { 'text/html': { schema: str } } } } },
  'GET /.well-known/jwks.json': {
    operationId: 'getJwks',
    summary: "The gateway's public keys for its identity assertions",
    tag: 'auth',
    auth: 'public',
    responses: { 200: json(object({ keys: { type: 'array', items: anyObject } }), 'A JSON Web Key Set.') },
  },
  'GET /.well-known/oauth-protected-resource': {
    operationId: 'getProtectedResourceMetadata',
    summary: 'OAuth protected resource metadata (RFC 9728)',
    description: 'Names the identity provider that issues tokens for the gateway; every 401 challenge points here.',
    tag: 'auth',
    auth: 'public',
    responses: { 200: json(object({ resource: str, authorization_servers: strings, bearer_methods_supported: strings, resource_name: str }), 'The metadata.') },
  },
  'GET /.well-known/oauth-protected-resource/mcp': {
    operationId: 'getMcpProtectedResourceMetadata',
    summary: 'OAuth protected resource metadata for /mcp (RFC 9728)',
    tag: 'auth',
    auth: 'public',
    responses: { 200: json(object({ resource: str, authorization_servers: strings, bearer_methods_supported: strings, resource_name: str }), 'The metadata.') },
  },
  'POST /backchannel-logout': {
    operationId: 'backchannelLogout',
    summary: 'OIDC back-channel logout: revoke a session',
    description: 'Authenticated by the signed logout token itself (OIDC Back-Channel Logout 1.0).',
    tag: 'auth',
    auth: 'public',
    requestBody: { required: true, content: { 'application/x-www-form-urlencoded': { schema: object({ logout_token: str }) } } },
    responses: { 200: { description: 'The session is revoked.' } },
    errors: { 400: 'BadRequest' },
  },
  'POST /api/admin/revocations': {
    operationId: 'createRevocation',
    summary: 'Revoke a token, a session or a user\'s tokens issued before a time',
    tag: 'admin',
    auth: 'admin',
    responses: { 201: json(object({ revoked: anyObject, expiresAt: { type: 'string', format: 'date-time' } }), 'Revoked on every replica.') },
  },
  'GET /api/admin/pins': {
    operationId: 'listPinChanges',
    summary: 'Tool definitions that changed since first seen',
    tag: 'admin',
    auth: 'admin',
    responses: { 200: json(object({ pinning: str, changes: { type: 'array', items: anyObject } }), 'The pinning mode and the changed definitions.') },
  },
  'POST /api/admin/pins/{server}/{tool}/approve': {
    operationId: 'approvePinChange',
    summary: 'Approve a changed tool definition',
    tag: 'admin',
    auth: 'admin',
    responses: { 200: json(object({ approved: { type: 'boolean', const: true } }), 'Approved; the tool is offered again.') },
    errors: { 404: 'NotFound' },
  },
  'GET /api/me': { operationId: 'getMe', summary: 'The caller, their roles, and the servers and tools they may use', tag: 'tools', auth: 'bearer', responses: { 200: json(ref('Me'), 'The caller.') } },
  'GET /api/tools': {
    operationId: 'listTools',
    summary: 'Tools the caller may call',
    tag: 'tools',
    auth: 'bearer',
    responses: { 200: json(object({ tools: { type: 'array', items: ref('Tool') } }), 'The tools, in a stable order.') },
  },
  'POST /api/tools/{server}/{tool}': {
    operationId: 'callTool',
    summary: 'Call a tool directly (no model involved)',
    tag: 'tools',
    auth: 'bearer',
    responses: {
      200: json(object({ result: ref('CallToolResult') }), 'The tool ran.'),
      202: json(object({ confirmation: ref('Confirmation') }), 'A person must confirm first: decide with POST /api/confirmations/{id}.'),
    },
    errors: { 404: 'NotFound', 502: 'UpstreamFailure', 503: 'Unavailable', 504: 'UpstreamFailure' },
  },
  'GET /api/confirmations/{id}': {
    operationId: 'getConfirmation',
    summary: 'A pending confirmation (owner only)',
    tag: 'tools',
    auth: 'bearer',
    responses: { 200: json(object({ confirmation: ref('Confirmation') }), 'The pending confirmation.') },
    errors: { 404: 'NotFound' },
  },
  'POST /api/confirmations/{id}': {
    operationId: 'decideConfirmation',
    summary: 'Approve or reject a pending confirmation (single use)',
    tag: 'tools',
    auth: 'bearer',
    responses: {
      200: json(
        {
          // anyOf: a run's answer and a direct call's share `status`; `runId` tells them apart.
          anyOf: [
            object({ status: { type: 'string', const: 'approved' }, result: ref('CallToolResult') }),
            object({ status: { type: 'string', const: 'rejected' } }),
            object({ status: { type: 'string', enum: ['approved', 'rejected'] }, runId: str }),
          ],
        },
        'Decided: a direct call returns its result; a run resumes (its stream continues).',
      ),
    },
    errors: { 404: 'NotFound', 409: 'Conflict', 502: 'UpstreamFailure' },
  },
  'POST /api/query': {
    operationId: 'startRun',
    summary: 'Ask a question: an agent run streamed as server-sent events',
    tag: 'agent',
    auth: 'bearer',
    responses: { 200: sse },
    errors: { 404: 'NotFound', 503: 'Unavailable' },
  },
  'GET /api/runs/{runId}/events': {
    operationId: 'streamRunEvents',
    summary: 'Replay a run after Last-Event-ID and follow it live',
    tag: 'agent',
    auth: 'bearer',
    responses: { 200: sse, 204: { description: 'The run has finished and Last-Event-ID is at or past its last event: nothing more to read.' } },
    errors: { 404: 'NotFound', 503: 'Unavailable' },
  },
  'POST /api/runs/{runId}/elicitations/{elicitationId}': {
    operationId: 'answerElicitation',
    summary: "Answer a tool server's question in a run (owner only, single use)",
    description:
      'A tool server asked the run\'s owner for input during a tool call (run event `elicitation_required`). `accept` sends `content`, checked against the event\'s `requestedSchema`; `decline` and `cancel` send none. Any replica takes the answer; the run\'s stream then shows `elicitation_resolved`.',
    tag: 'agent',
    auth: 'bearer',
    responses: { 200: json(object({ elicitationId: str, action: { type: 'string', enum: ['accept', 'decline', 'cancel'] } }), 'Answered; the tool call goes on.') },
    errors: { 404: 'NotFound', 409: 'Conflict' },
  },
  'DELETE /api/runs/{runId}': {
    operationId: 'cancelRun',
    summary: 'Cancel a run',
    tag: 'agent',
    auth: 'bearer',
    responses: { 202: json(object({ runId: str, status: { type: 'string', const: 'cancelling' } }), 'Cancelling; the stream ends with `done`.') },
    errors: { 404: 'NotFound' },
  },
  'GET /mcp': {
    operationId: 'mcpStream',
    summary: 'MCP Streamable HTTP: the server-to-client stream',
    tag: 'mcp',
    auth: 'bearer',
    responses: { 200: { description: 'MCP messages as server-sent events.', content: { 'text/event-stream': { schema: str } } } },
  },
  'POST /mcp': {
    operationId: 'mcpMessage',
    summary: 'MCP Streamable HTTP: a JSON-RPC message from the client',
    tag: 'mcp',
    auth: 'bearer',
    requestBody: { required: true, content: { 'application/json': { schema: anyObject } } },
    responses: {
      200: { description: 'The JSON-RPC response, as JSON or as server-sent events.', content: { 'application/json': { schema: anyObject }, 'text/event-stream': { schema: str } } },
      202: { description: 'A notification or response was accepted.' },
    },
  },
  'DELETE /mcp': { operationId: 'mcpEndSession', summary: 'MCP Streamable HTTP: end the session', tag: 'mcp', auth: 'bearer', responses: { 200: { description: 'Ended.' } }, errors: { 404: 'NotFound' } },
  'GET /dev/info': {
    operationId: 'getDemoInfo',
    summary: 'The embedded demo: its users and token endpoint',
    tag: 'demo',
    auth: 'public',
    responses: { 200: json(object({ profile: str, issuer: str, tokenEndpoint: str, clientId: str, users: strings, simulatedModel: { type: 'boolean' } }), 'The demo.') },
  },
  'POST /dev/token': {
    operationId: 'getDemoToken',
    summary: 'The embedded demo: an access token for a demo user',
    tag: 'demo',
    auth: 'public',
    requestBody: { required: true, content: { 'application/x-www-form-urlencoded': { schema: object({ username: str }) }, 'application/json': { schema: object({ username: str }) } } },
    responses: { 200: json(object({ access_token: str, token_type: str, expires_in: { type: 'integer' } }, ['access_token']), 'The token response of the dev issuer.') },
  },
};
