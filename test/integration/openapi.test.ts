/**
 * The served OpenAPI document: generated from the routes (so it lists what the gateway really
 * accepts), completed with every response, operation ids and summaries, SSE event schemas and
 * public routes; linted with Redocly's recommended rules; and checked against real responses.
 */
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startGateway, startTestStack, testConfig, type RunningGateway, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
let gateway: RunningGateway;
let document: any;

beforeAll(async () => {
  stack = await startTestStack();
  gateway = await startGateway(testConfig(stack));
  const response = await api(`${gateway.url}/openapi.json`);
  expect(response.status).toBe(200);
  document = response.body;
});

afterAll(async () => {
  await gateway?.close();
  await stack?.close();
});

function operations(): Array<{ method: string; path: string; operation: any }> {
  return Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(([path, byMethod]) =>
    Object.entries(byMethod).map(([method, operation]) => ({ method, path, operation })),
  );
}

/** Validates a real response body against the documented schema of that status and media type. */
function expectDocumented(method: string, path: string, status: number, body: unknown, mediaType = 'application/json'): void {
  const ajv = new Ajv2020({ strict: false });
  ajv.addSchema({ $id: 'doc', components: document.components }, 'doc');
  const response = document.paths[path][method].responses[String(status)];
  expect(response, `${method} ${path} documents ${status}`).toBeDefined();
  const resolved = response.$ref === undefined ? response : document.components.responses[String(response.$ref).split('/').at(-1)!];
  const schema = JSON.parse(JSON.stringify(resolved.content[mediaType].schema).replaceAll('"#/components/', '"doc#/components/'));
  const validate = ajv.compile(schema);
  expect(validate(body), `${method} ${path} ${status}: ${ajv.errorsText(validate.errors)}`).toBe(true);
}

it('describes the routes, their bodies and the error catalogue', () => {
  expect(document.openapi).toBe('3.1.0');
  for (const path of ['/api/query', '/api/tools/{server}/{tool}', '/api/confirmations/{id}', '/api/runs/{runId}/events', '/api/admin/revocations', '/api/me', '/.well-known/oauth-protected-resource']) {
    expect(Object.keys(document.paths)).toContain(path);
  }
  expect(document.paths['/api/query'].post.requestBody.content['application/json'].schema.required).toEqual(['query']);
  expect(document.components.schemas.ErrorObject.properties.code.enum).toContain('AUTH_1001');
  expect(document.info.description).toContain('confirmation_required');
  expect(Object.keys(document.paths)).not.toContain('/openapi.json');
  // /dev/* belongs to the embedded demo only.
  expect(Object.keys(document.paths).filter((path) => path.startsWith('/dev/'))).toEqual([]);
});

it('gives every operation an id, a summary, a success response and its error responses', () => {
  const ids = new Set<string>();
  for (const { method, path, operation } of operations()) {
    expect(operation.operationId, `${method} ${path}`).toMatch(/^[a-z][A-Za-z]+$/);
    expect(ids.has(operation.operationId), `operationId ${operation.operationId} is unique`).toBe(false);
    ids.add(operation.operationId);
    expect(operation.summary, `${method} ${path}`).not.toMatch(/^(GET|POST|DELETE) /);
    const statuses = Object.keys(operation.responses);
    expect(statuses.some((status) => status.startsWith('2')), `${method} ${path} has a 2xx`).toBe(true);
    expect(statuses, `${method} ${path}`).toContain('500');
    expect(JSON.stringify(operation.responses)).not.toContain('Default Response');
  }
  const call = document.paths['/api/tools/{server}/{tool}'].post.responses;
  expect(Object.keys(call)).toEqual(expect.arrayContaining(['200', '202', '400', '401', '403', '404', '429', '500', '502', '503', '504']));
  expect(document.components.responses.Unauthorized.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' });
});

it('declares the run streams as text/event-stream with a schema for every event', () => {
  for (const [path, method] of [['/api/query', 'post'], ['/api/runs/{runId}/events', 'get']] as const) {
    const content = document.paths[path][method].responses['200'].content;
    expect(Object.keys(content)).toEqual(['text/event-stream']);
    expect(content['text/event-stream'].schema).toEqual({ $ref: '#/components/schemas/RunEvent' });
  }
  // @fastify/swagger writes `const` as a one-value enum.
  const variants = document.components.schemas.RunEvent.oneOf as Array<{ properties: { event: { enum: string[] } } }>;
  const events = variants.map((variant) => variant.properties.event.enum[0]);
  expect(events).toEqual(['run', 'text', 'tool_call', 'tool_result', 'confirmation_required', 'confirmation_resolved', 'elicitation_required', 'elicitation_resolved', 'sampling', 'warning', 'usage', 'error', 'done']);
});

it('asks for a token only where one is required', () => {
  const publicRoutes = operations()
    .filter(({ operation }) => Array.isArray(operation.security) && operation.security.length === 0)
    .map(({ method, path }) => `${method.toUpperCase()} ${path}`)
    .sort();
  expect(publicRoutes).toEqual(
    [
      'GET /',
      'GET /.well-known/jwks.json',
      'GET /.well-known/oauth-protected-resource',
      'GET /.well-known/oauth-protected-resource/mcp',
      'GET /health/live',
      'GET /health/ready',
      'GET /metrics',
      'POST /backchannel-logout',
    ].sort(),
  );
  expect(document.paths['/api/me'].get.security).toEqual([{ bearer: [] }]);
  expect(document.paths['/health/live'].get.responses['401']).toBeUndefined();
});

/** `#/paths/~1health~1live/get/responses` → a GET that needs no token and takes no parameters. */
function isPublicWithoutInput(pointer: string): boolean {
  const path = decodeURIComponent(pointer.split('/')[2] ?? '').replaceAll('~1', '/').replaceAll('~0', '~');
  const operation = document.paths[path]?.get;
  return operation !== undefined && operation.security?.length === 0 && operation.parameters === undefined && operation.requestBody === undefined;
}

it("passes Redocly's recommended rules without errors", async () => {
  const problems = await lintFromString({ source: JSON.stringify(document), absoluteRef: 'openapi.json', config: await createConfig({ extends: ['recommended'] }) });
  const errors = problems.filter((problem) => problem.severity === 'error').map((problem) => `${problem.ruleId}: ${problem.message} at ${problem.location[0]?.pointer ?? ''}`);
  expect(errors).toEqual([]);
  // The one warning left is honest: a public GET without input (liveness, keys, metadata) has no 4xx to document.
  const warnings = problems
    .filter((problem) => problem.severity === 'warn' && !(problem.ruleId === 'operation-4xx-response' && /^#\/paths\/[^/]+\/get\/responses$/.test(problem.location[0]?.pointer ?? '') && isPublicWithoutInput(problem.location[0]?.pointer ?? '')))
    .map((problem) => `${problem.ruleId}: ${problem.message} at ${problem.location[0]?.pointer ?? ''}`);
  expect(warnings).toEqual([]);
});

describe('real responses match the documented schemas', () => {
  let alice: string;
  beforeAll(async () => {
    alice = await stack.issuer.tokenFor('alice.chen');
  });

  it('for the caller, the tools, readiness and liveness', async () => {
    expectDocumented('get', '/api/me', 200, (await api(`${gateway.url}/api/me`, { token: alice })).body);
    expectDocumented('get', '/api/tools', 200, (await api(`${gateway.url}/api/tools`, { token: alice })).body);
    const ready = await api(`${gateway.url}/health/ready`);
    expectDocumented('get', '/health/ready', ready.status, ready.body);
    expectDocumented('get', '/health/live', 200, (await api(`${gateway.url}/health/live`)).body);
    expectDocumented('get', '/.well-known/oauth-protected-resource', 200, (await api(`${gateway.url}/.well-known/oauth-protected-resource`)).body);
  });

  it('for a direct call, a confirmation and its decision, and errors', async () => {
    const listed = await api(`${gateway.url}/api/tools/hr/list_employees`, { token: alice, body: { arguments: { limit: 2 } } });
    expect(listed.status).toBe(200);
    expectDocumented('post', '/api/tools/{server}/{tool}', 200, listed.body);
    const pending = await api(`${gateway.url}/api/tools/hr/delete_employee`, { token: alice, body: { arguments: { employeeId: 'E-1059' } } });
    expect(pending.status).toBe(202);
    expectDocumented('post', '/api/tools/{server}/{tool}', 202, pending.body);
    const id = pending.body.confirmation.id as string;
    expectDocumented('get', '/api/confirmations/{id}', 200, (await api(`${gateway.url}/api/confirmations/${id}`, { token: alice })).body);
    const rejected = await api(`${gateway.url}/api/confirmations/${id}`, { token: alice, body: { decision: 'reject' } });
    expectDocumented('post', '/api/confirmations/{id}', 200, rejected.body);
    const missing = await api(`${gateway.url}/api/me`);
    expect(missing.status).toBe(401);
    expectDocumented('get', '/api/me', 401, missing.body);
    const unknown = await api(`${gateway.url}/api/tools/hr/no_such_tool`, { token: alice, body: { arguments: {} } });
    expectDocumented('post', '/api/tools/{server}/{tool}', unknown.status, unknown.body);
  });
});
