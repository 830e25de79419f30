/** The served OpenAPI document is generated from the routes, so it lists what the gateway really accepts. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { api, startGateway, startTestStack, testConfig, type RunningGateway, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
let gateway: RunningGateway;

beforeAll(async () => {
  stack = await startTestStack();
  gateway = await startGateway(testConfig(stack));
});

afterAll(async () => {
  await gateway?.close();
  await stack?.close();
});

it('serves an OpenAPI 3.1 document describing the routes, their bodies and the error catalogue', async () => {
  const { status, body } = await api(`${gateway.url}/openapi.json`);
  expect(status).toBe(200);
  expect(body.openapi).toBe('3.1.0');
  for (const path of ['/api/query', '/api/tools/{server}/{tool}', '/api/confirmations/{id}', '/api/runs/{runId}/events', '/api/admin/revocations', '/api/me']) {
    expect(Object.keys(body.paths)).toContain(path);
  }
  const query = body.paths['/api/query'].post;
  expect(query.requestBody.content['application/json'].schema.required).toEqual(['query']);
  expect(body.components.schemas.Error.properties.error.properties.code.enum).toContain('AUTH_1001');
  expect(body.info.description).toContain('confirmation_required');
  expect(Object.keys(body.paths)).not.toContain('/openapi.json');
});
