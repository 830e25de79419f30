/**
 * The HTTP edge: every refusal — Fastify's own included — is a catalogued 4xx in the one error
 * shape, request ids are echoed only when harmless, and health and metrics answer.
 */
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { api, startGateway, startTestStack, testConfig, type RunningGateway, type TestStack } from '../helpers/stack.js';

type ApiResult = Awaited<ReturnType<typeof api>>;

const BODY_LIMIT = 2_048;

let stack: TestStack;
let gw: RunningGateway;
let admin: string;

beforeAll(async () => {
  stack = await startTestStack();
  gw = await startGateway(testConfig(stack, { server: { bodyLimit: BODY_LIMIT } }));
  admin = await stack.issuer.tokenFor('ops.admin');
});

afterAll(async () => {
  await gw?.close();
  await stack?.close();
});

function expectError(response: ApiResult, status: number, code: string): void {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const requestId = response.headers.get('x-request-id');
  expect(requestId).toBeTruthy();
  expect(response.body).toMatchObject({ error: { code, message: expect.any(String), requestId, retryable: false } });
}

const revocations = (body: string, headers: Record<string, string> = {}): Promise<ApiResult> =>
  api(`${gw.url}/api/admin/revocations`, { token: admin, body, headers: { 'content-type': 'application/json', ...headers } });

describe('bad requests get catalogued errors', () => {
  afterEach(async () => {
    // Whatever the previous request did, the process still answers.
    expect((await api(`${gw.url}/health/live`)).status).toBe(200);
  });

  it('an unknown route is 404 REQ_4004', async () => {
    expectError(await api(`${gw.url}/no/such/route`), 404, 'REQ_4004');
    expectError(await api(`${gw.url}/no/such/route`, { method: 'DELETE' }), 404, 'REQ_4004');
  });

  it('malformed JSON is 400 REQ_4001', async () => {
    expectError(await revocations('{"jti": '), 400, 'REQ_4001');
  });

  it('an empty JSON body is 400 REQ_4001', async () => {
    expectError(await revocations(''), 400, 'REQ_4001');
  });

  it('a wrong content type is 415 REQ_4015', async () => {
    expectError(await revocations('jti=abc', { 'content-type': 'text/plain' }), 415, 'REQ_4015');
    // The form parser belongs to the back-channel logout route only.
    expectError(await revocations('jti=abc', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'REQ_4015');
  });

  it('a body over server.bodyLimit is 413 REQ_4013', async () => {
    expectError(await revocations(JSON.stringify({ jti: 'x'.repeat(BODY_LIMIT * 2) })), 413, 'REQ_4013');
  });

  it('a schema violation is 400 REQ_4000 with details', async () => {
    const response = await revocations(JSON.stringify({ jti: { nested: true } }));
    expectError(response, 400, 'REQ_4000');
    expect(response.body.error.details).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: 'body/jti', message: expect.any(String) })]),
    );
  });

  it('headers over the server limit are 431 REQ_4031 (refused by Node before Fastify sees the request)', async () => {
    expectError(await api(`${gw.url}/api/me`, { headers: { 'x-padding': 'p'.repeat(64 * 1024) } }), 431, 'REQ_4031');
  });

  it('a request Node cannot parse is 400 REQ_4000', async () => {
    const { port } = new URL(gw.url);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => socket.end('NOT HTTP AT ALL\r\n\r\n'));
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (text += chunk));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    const [head = '', body = ''] = raw.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 400 /);
    const requestId = /^x-request-id: (.+)$/im.exec(head)?.[1];
    expect(requestId).toBeTruthy();
    expect(JSON.parse(body)).toEqual({ error: { code: 'REQ_4000', message: expect.any(String), requestId, retryable: false } });
  });

  it('a body matching none of the accepted shapes is 400 REQ_4000', async () => {
    expectError(await revocations(JSON.stringify({ sub: 'someone' })), 400, 'REQ_4000');
    expectError(await revocations(JSON.stringify({ sub: 'someone', before: 'yesterday' })), 400, 'REQ_4000');
    expectError(await revocations(JSON.stringify({})), 400, 'REQ_4000');
  });

  it('unknown fields and wrong types are refused, never dropped or coerced', async () => {
    expectError(await revocations(JSON.stringify({ jti: 'abc', sneaky: true })), 400, 'REQ_4000');
    expectError(await revocations(JSON.stringify({ jti: 12345 })), 400, 'REQ_4000');
  });
});

describe('request ids', () => {
  it('a valid X-Request-ID is echoed, and the error body carries the same id', async () => {
    const id = 'client-id_1.2-3';
    const response = await api(`${gw.url}/nope`, { headers: { 'x-request-id': id } });
    expect(response.headers.get('x-request-id')).toBe(id);
    expect(response.body.error.requestId).toBe(id);
  });

  it('a 128-character id is accepted', async () => {
    const id = 'a'.repeat(128);
    expect((await api(`${gw.url}/health/live`, { headers: { 'x-request-id': id } })).headers.get('x-request-id')).toBe(id);
  });

  it.each([
    ['contains a space', 'has space'],
    ['is 129 characters', 'a'.repeat(129)],
    ['contains a slash', 'a/b'],
  ])('an id that %s is replaced by a generated one', async (_label, id) => {
    const response = await api(`${gw.url}/nope`, { headers: { 'x-request-id': id } });
    const echoed = response.headers.get('x-request-id');
    expect(echoed).toBeTruthy();
    expect(echoed).not.toBe(id);
    expect(echoed).toMatch(/^[A-Za-z0-9._-]{1,128}$/);
    expect(response.body.error.requestId).toBe(echoed);
  });

  it('every response gets an id, distinct per request', async () => {
    const first = (await api(`${gw.url}/health/live`)).headers.get('x-request-id');
    const second = (await api(`${gw.url}/health/live`)).headers.get('x-request-id');
    expect(first).toBeTruthy();
    expect(second).toBeTruthy();
    expect(first).not.toBe(second);
  });
});

describe('health and metrics', () => {
  it('/health/live is 200', async () => {
    const response = await api(`${gw.url}/health/live`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'alive' });
  });

  it('/health/ready reports a status, its reasons, and every check with its role and state', async () => {
    const response = await api(`${gw.url}/health/ready`);
    expect(['healthy', 'degraded', 'unhealthy']).toContain(response.body.status);
    expect(response.status === 200).toBe(response.body.status !== 'unhealthy');
    expect(Array.isArray(response.body.reasons)).toBe(true);
    const checks = response.body.checks as Record<string, { ok: boolean; state: string; role: string }>;
    expect(Object.keys(checks)).toEqual(expect.arrayContaining(['store', 'issuer', 'revocations', 'model', 'upstream:hr', 'upstream:support']));
    for (const check of Object.values(checks)) {
      expect(check.ok).toBe(check.state === 'up');
      expect(['up', 'degraded', 'down']).toContain(check.state);
      expect(['store', 'identity-provider', 'revocations', 'upstream', 'model']).toContain(check.role);
    }
    expect(checks.store).toMatchObject({ ok: true, role: 'store' });
    expect(checks.issuer).toMatchObject({ role: 'identity-provider' });
  });

  it('/metrics exposes gateway_http_requests_total, counting the requests served', async () => {
    await api(`${gw.url}/no/such/route`);
    const response = await fetch(`${gw.url}/metrics`);
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toContain('# TYPE gateway_http_requests_total counter');
    expect(text).toMatch(/gateway_http_requests_total\{[^}]*status="404"[^}]*\} [1-9]/);
  });
});
