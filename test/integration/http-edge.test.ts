/**
 * The HTTP edge: every refusal — Fastify's own included — is a catalogued 4xx in the one error
 * shape, request ids are echoed only when harmless, and health and metrics answer.
 */
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { collectRun, openSse } from '../helpers/sse.js';
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

/** Sends raw bytes and returns everything the server answers until it closes (or `waitMs` passes). */
function rawExchange(base: string, chunks: string[], waitMs = 20_000): Promise<{ head: string; body: string }> {
  const { port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => {
      for (const chunk of chunks) socket.write(chunk);
    });
    let text = '';
    const timer = setTimeout(() => socket.destroy(), waitMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('close', () => {
      clearTimeout(timer);
      const [head = '', body = ''] = text.split('\r\n\r\n');
      resolve({ head, body });
    });
    socket.on('error', reject);
  });
}

describe('hostile clients get a catalogued 4xx and the process stays healthy', () => {
  let edge: RunningGateway;
  let alice: string;
  const PUBLIC_URL = 'https://gateway.example.test';

  beforeAll(async () => {
    edge = await startGateway(
      testConfig(stack, {
        server: { publicUrl: PUBLIC_URL, maxJsonDepth: 32, timeouts: { headersMs: 1_000, requestMs: 1_500, idleMs: 2_000 } },
        limits: { anonymousRequestsPerMinute: 5 },
        sse: { heartbeatMs: 30_000 },
      }),
    );
    alice = await stack.issuer.tokenFor('alice.chen');
  });

  afterAll(async () => {
    await edge?.close();
  });

  afterEach(async () => {
    // Whatever the hostile request did, the next valid one is served.
    expect((await api(`${edge.url}/api/me`, { token: alice })).status).toBe(200);
    expect((await api(`${edge.url}/health/live`)).status).toBe(200);
  });

  function expectRawError(raw: { head: string; body: string }, status: number, code: string): void {
    expect(raw.head).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    expect(JSON.parse(raw.body)).toMatchObject({ error: { code, message: expect.any(String), requestId: expect.any(String) } });
  }

  it('a request body trickled slower than server.timeouts.requestMs is 408 REQ_4008', async () => {
    const body = JSON.stringify({ jti: 'x'.repeat(50) });
    const raw = await rawExchange(edge.url, [
      `POST /api/admin/revocations HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${alice}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      body.slice(0, 10),
    ]);
    expectRawError(raw, 408, 'REQ_4008');
  });

  it('so is one to the unauthenticated back-channel logout endpoint', async () => {
    const raw = await rawExchange(edge.url, [
      'POST /backchannel-logout HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 500\r\n\r\n',
      'logout_token=eyJ',
    ]);
    expectRawError(raw, 408, 'REQ_4008');
  });

  it('headers never finished are 408 REQ_4008', async () => {
    const raw = await rawExchange(edge.url, ['GET /api/me HTTP/1.1\r\nHost: localhost\r\nX-Slow: ']);
    expectRawError(raw, 408, 'REQ_4008');
  });

  it('an SSE stream outlives every edge timeout: a run paused for a confirmation longer than them still ends with done', async () => {
    const connection = await openSse(`${edge.url}/api/query`, { token: alice, body: { query: 'delete employee E-1042' } });
    expect(connection.status).toBe(200);
    const frames = await collectRun(connection, (frame) => frame.event === 'confirmation_required' || frame.event === 'done');
    const card = frames.at(-1);
    expect(card?.event).toBe('confirmation_required');
    // Silent (no heartbeat within 30 s) for longer than requestMs and idleMs.
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    const decided = await api(`${edge.url}/api/confirmations/${card?.data.confirmationId}`, { token: alice, body: { decision: 'reject' } });
    expect(decided.status).toBe(200);
    const rest = await collectRun(connection);
    expect(rest.at(-1)).toMatchObject({ event: 'done' });
  });

  it('tool arguments nested 5,000 deep are 400 REQ_4002, not a 500', async () => {
    const deep = `${'['.repeat(5_000)}${']'.repeat(5_000)}`;
    const response = await api(`${edge.url}/api/tools/hr/list_employees`, { token: alice, body: `{"arguments":{"limit":${deep}}}` });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: 'REQ_4002', retryable: false, details: { maxDepth: 32 } });
    // Brackets inside strings do not count; 32 levels are accepted (and then judged by the tool's schema).
    const inString = await api(`${edge.url}/api/tools/hr/list_employees`, { token: alice, body: { arguments: { limit: 1, note: '['.repeat(5_000) } } });
    expect(inString.body.error?.code).not.toBe('REQ_4002');
    const nested = JSON.stringify({ arguments: { limit: JSON.parse(`${'['.repeat(30)}1${']'.repeat(30)}`) } });
    expect((await api(`${edge.url}/api/tools/hr/list_employees`, { token: alice, body: nested })).body.error.code).toBe('MCP_2006');
  });

  it('so are JSON-RPC messages to /mcp', async () => {
    const deep = `${'{"a":'.repeat(2_000)}1${'}'.repeat(2_000)}`;
    const response = await api(`${edge.url}/mcp`, {
      token: alice,
      headers: { accept: 'application/json, text/event-stream' },
      body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"hr__list_employees","arguments":${deep}}}`,
    });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('REQ_4002');
  });

  it('malformed percent-encoding is 400 REQ_4000 in the catalogue shape, without echoing the URL', async () => {
    const response = await api(`${edge.url}/api/runs/%E0%A4%A/events?x=<script>`, { token: alice });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: 'REQ_4000', requestId: response.headers.get('x-request-id') });
    expect(JSON.stringify(response.body)).not.toMatch(/%E0|script/i);
  });

  it('an over-long path parameter is 414 REQ_4014 in the catalogue shape, without echoing it', async () => {
    const long = `run-${'z'.repeat(300)}`;
    const response = await api(`${edge.url}/api/runs/${long}/events`, { token: alice });
    expect(response.status).toBe(414);
    expect(response.body.error).toMatchObject({ code: 'REQ_4014', requestId: expect.any(String) });
    expect(JSON.stringify(response.body)).not.toContain('zzzz');
  });

  it('the Host header is never reflected: challenges and resource metadata name server.publicUrl', async () => {
    const evil = 'evil.example"><script>';
    const raw = await rawExchange(edge.url, [`GET /api/me HTTP/1.1\r\nHost: ${evil}\r\nConnection: close\r\n\r\n`]);
    expect(raw.head).toMatch(/^HTTP\/1\.1 401 /);
    const challenge = /^www-authenticate: (.+)$/im.exec(raw.head)?.[1] ?? '';
    expect(challenge).toContain(`resource_metadata="${PUBLIC_URL}/.well-known/oauth-protected-resource"`);
    expect(raw.head).not.toContain('evil');
    const metadata = await rawExchange(edge.url, [`GET /.well-known/oauth-protected-resource HTTP/1.1\r\nHost: ${evil}\r\nConnection: close\r\n\r\n`]);
    expect(JSON.parse(metadata.body.replace(/^[0-9a-f]+\r\n|\r\n0\r\n$/g, ''))).toMatchObject({ resource: PUBLIC_URL });
    expect(metadata.body).not.toContain('evil');
  });

  it('bad tokens from one IP are refused 429 past the limit, yet a valid token from that IP is never refused', async () => {
    const codes: string[] = [];
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const response = await api(`${edge.url}/api/me`, { token: 'not-a-token' });
      codes.push(response.body.error.code);
      if (response.status === 429) {
        expect(response.body.error).toMatchObject({ code: 'RATE_4290', retryable: true });
        expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      } else {
        expect(response.status).toBe(401);
      }
    }
    // At most the limit (5 a minute, earlier tests' failures included) answered 401, then 429 throughout.
    const firstRefusal = codes.indexOf('RATE_4290');
    expect(firstRefusal).toBeGreaterThanOrEqual(0);
    expect(firstRefusal).toBeLessThanOrEqual(5);
    expect(codes.slice(0, firstRefusal).every((code) => code === 'AUTH_1002')).toBe(true);
    expect(codes.slice(firstRefusal).every((code) => code === 'RATE_4290')).toBe(true);
    // Same IP, valid token: served, whatever the others behind this address sent.
    for (const user of ['alice.chen', 'bob.martinez', 'frank.lee']) {
      expect((await api(`${edge.url}/api/me`, { token: await stack.issuer.tokenFor(user) })).status).toBe(200);
    }
  });
});

describe('without server.publicUrl (embedded demo, tests)', () => {
  it('links are derived from the listen address, not from the Host header', async () => {
    const response = await api(`${gw.url}/.well-known/oauth-protected-resource`, { headers: { 'x-forwarded-host': 'evil.example' } });
    expect(response.body.resource).toBe(gw.url);
    const raw = await rawExchange(gw.url, [`GET /api/me HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n`]);
    expect(raw.head).toContain(`resource_metadata="${gw.url}/.well-known/oauth-protected-resource"`);
    expect(raw.head).not.toContain('evil');
  });
});
