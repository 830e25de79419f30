/**
 * The upstream MCP layer (issue 4) against the real sample servers: retries only where repeating is
 * safe (counted in metrics), Retry-After, deadlines, the circuit breaker on a dead server, and the
 * identity the gateway vouches for upstream (signed assertion, never the user's own token).
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, generateKeyPair, importPKCS8, jwtVerify, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDemoUser } from '../../src/dev/demo-users.js';
import { api, startGateway, waitFor, startTestStack, testConfig, TEST_ASSERTION_ISSUER, type RunningGateway, type TestStack } from '../helpers/stack.js';

/** A loopback pass-through in front of a sample server that records the headers of every request. */
interface RecordingProxy {
  readonly url: string;
  readonly seen: IncomingHttpHeaders[];
  /** Requests the gateway gave up on before their answer was complete. */
  cancelled(): number;
  close(): Promise<void>;
}

async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const upstream = new URL(target);
  const seen: IncomingHttpHeaders[] = [];
  let cancelled = 0;
  const server: Server = createServer((req, res) => {
    seen.push(req.headers);
    res.on('close', () => {
      if (!res.writableFinished) cancelled += 1;
    });
    const forward = httpRequest(
      { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: { ...req.headers, host: upstream.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    res.on('close', () => forward.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${upstream.pathname}`,
    seen,
    cancelled: () => cancelled,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The value of one counter series on a gateway's /metrics page (0 when absent). */
async function counter(gateway: RunningGateway, series: string): Promise<number> {
  const text = await (await fetch(`${gateway.url}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

const HR_RETRIES = 'gateway_upstream_retries_total{server="hr"}';
const SALES_RETRIES = 'gateway_upstream_retries_total{server="sales"}';

let stack: TestStack;
let proxy: RecordingProxy;
let gw: RunningGateway;
let alice: string;

beforeAll(async () => {
  stack = await startTestStack();
  proxy = await startRecordingProxy(stack.servers.hr.url);
  gw = await startGateway(
    testConfig(stack, {
      servers: { hr: { url: proxy.url } },
      // Short deadlines so a hung server costs little; a breaker that the retry tests never trip.
      upstream: { callTimeoutMs: 1_000, breaker: { consecutiveFailures: 10 } },
    }),
  );
  alice = await stack.issuer.tokenFor('alice.chen');
  await warmUp(gw);
});

/** Waits until a gateway has its hr session open (connecting is slow on a busy machine, and counts no retries). */
async function warmUp(gateway: RunningGateway): Promise<void> {
  await gateway.gateway.tools.catalogue.loaded();
  await waitFor(async () => (await call(gateway, 'hr', 'list_employees', alice, { limit: 1 })).status === 200, { timeoutMs: 30_000, intervalMs: 200, what: 'hr to answer' });
}

afterAll(async () => {
  await gw?.close();
  await proxy?.close();
  await stack?.close();
});

const hr = () => stack.servers.hr.controls;
const call = (gateway: RunningGateway, server: string, tool: string, token: string, args: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  api(`${gateway.url}/api/tools/${server}/${tool}`, { token, body: { arguments: args }, headers });

describe('retries', () => {
  it('a read failing twice with 503 then succeeding is retried, and both retries are counted', async () => {
    const retries = await counter(gw, HR_RETRIES);
    const requests = hr().requestCount();
    const calls = hr().toolCallCount('list_employees');
    hr().failNext(2, 503);
    const response = await call(gw, 'hr', 'list_employees', alice, { limit: 1 });
    expect(response.status).toBe(200);
    expect(response.body.result.structuredContent.employees).toHaveLength(1);
    expect(await counter(gw, HR_RETRIES)).toBe(retries + 2);
    expect(hr().requestCount()).toBe(requests + 3);
    expect(hr().toolCallCount('list_employees')).toBe(calls + 1);
  });

  it('a write that reached the server is not retried', async () => {
    const pending = await call(gw, 'hr', 'delete_employee', alice, { employeeId: 'E-1051' });
    expect(pending.status).toBe(202);
    const retries = await counter(gw, HR_RETRIES);
    const requests = hr().requestCount();
    hr().failNext(1, 503);
    const approved = await api(`${gw.url}/api/confirmations/${pending.body.confirmation.id}`, { token: alice, body: { decision: 'approve' } });
    expect(approved.status).toBe(503);
    expect(approved.body.error.code).toBe('MCP_2003');
    expect(hr().requestCount()).toBe(requests + 1);
    expect(hr().toolCallCount('delete_employee')).toBe(0);
    expect(await counter(gw, HR_RETRIES)).toBe(retries);
    expect(hr().data.employees.has('E-1051')).toBe(true);
  });

  it('a 429 is retried after its Retry-After when the deadline leaves room for it', async () => {
    const patient = await startGateway(testConfig(stack, { servers: { hr: { url: proxy.url } }, upstream: { callTimeoutMs: 10_000 } }));
    try {
      await warmUp(patient);
      const retries = await counter(patient, HR_RETRIES);
      hr().failNext(1, 429, 1);
      const started = performance.now();
      const response = await call(patient, 'hr', 'list_employees', alice, { limit: 1 });
      // A lower bound only: without the hint the full-jitter backoff waits at most 100 ms.
      expect(performance.now() - started).toBeGreaterThanOrEqual(950);
      expect(response.status).toBe(200);
      expect(await counter(patient, HR_RETRIES)).toBe(retries + 1);
    } finally {
      await patient.close();
    }
  });

  it('a Retry-After beyond the call\'s deadline is not waited for: the 429 ends the call at once', async () => {
    const retries = await counter(gw, HR_RETRIES);
    const requests = hr().requestCount();
    hr().failNext(1, 429, 5);
    const response = await call(gw, 'hr', 'list_employees', alice, { limit: 1 });
    expect(response.status).toBe(502);
    expect(response.body.error.code).toBe('MCP_2002');
    expect(hr().requestCount()).toBe(requests + 1);
    expect(await counter(gw, HR_RETRIES)).toBe(retries);
  });

  it('timeoutMs bounds the whole call: a hung read is cut off at the deadline and not repeated after it (504 MCP_2001)', async () => {
    const retries = await counter(gw, HR_RETRIES);
    const requests = hr().requestCount();
    hr().hangNext(1);
    const response = await call(gw, 'hr', 'get_employee', alice, { employeeId: 'E-1002' });
    expect(response.status).toBe(504);
    expect(response.body.error.code).toBe('MCP_2001');
    expect(response.body.error.retryable).toBe(true);
    expect(hr().requestCount()).toBe(requests + 1);
    expect(await counter(gw, HR_RETRIES)).toBe(retries);
    // The pooled client is healthy again afterwards.
    expect((await call(gw, 'hr', 'get_employee', alice, { employeeId: 'E-1002' })).status).toBe(200);
  });

  it('retries and their backoff share the one deadline: failures until it passes end in 504, not attempts × timeoutMs', async () => {
    // Every attempt fails at once with 503 and the backoff is long: the deadline (1 s) ends the call during a backoff.
    const slow = await startGateway(testConfig(stack, { servers: { hr: { url: proxy.url } }, upstream: { callTimeoutMs: 1_000, retry: { attempts: 10, baseMs: 400, maxMs: 400 }, breaker: { consecutiveFailures: 50 } } }));
    try {
      await warmUp(slow);
      const requests = hr().requestCount();
      hr().failNext(20, 503);
      const response = await call(slow, 'hr', 'list_employees', alice, { limit: 1 });
      expect(response.status).toBe(504);
      expect(response.body.error.code).toBe('MCP_2001');
      // Far fewer than the 10 attempts the retry policy alone would allow.
      const attempts = hr().requestCount() - requests;
      expect(attempts).toBeLessThan(10);
      // Use up the planned failures left over, so later tests meet a healthy server.
      for (let left = 20 - attempts; left > 0; left -= 1) await fetch(stack.servers.hr.url, { method: 'POST', body: '{}' }).then((answer) => answer.text());
    } finally {
      await slow.close();
    }
  });

  it('a caller that goes away cancels the upstream request, which is not retried', async () => {
    // A deadline far beyond the wait below: only the caller's abort can end the hung request in time.
    const patient = await startGateway(testConfig(stack, { servers: { hr: { url: proxy.url } }, upstream: { callTimeoutMs: 120_000 } }));
    try {
      await warmUp(patient);
      const cancelledSeries = 'gateway_tool_calls_total{server="hr",tool="list_employees",outcome="cancelled"}';
      const cancelledUpstream = proxy.cancelled();
      const requests = hr().requestCount();
      hr().hangNext(1);
      const caller = new AbortController();
      // Its own socket (no keep-alive pool), so going away really closes the connection.
      const answer = new Promise<Error>((resolve) => {
        const outgoing = httpRequest(`${patient.url}/api/tools/hr/list_employees`, {
          method: 'POST',
          agent: false,
          headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
          signal: caller.signal,
        });
        outgoing.on('error', resolve);
        outgoing.end(JSON.stringify({ arguments: { limit: 1 } }));
      });
      await waitFor(() => hr().requestCount() > requests, { what: 'the call to reach hr' });
      caller.abort();
      expect((await answer).name).toBe('AbortError');

      await waitFor(() => proxy.cancelled() > cancelledUpstream, { what: 'the upstream request to be dropped' });
      await waitFor(async () => (await counter(patient, cancelledSeries)) === 1, { what: 'the call to end as cancelled' });
      expect(hr().requestCount()).toBe(requests + 1);
    } finally {
      await patient.close();
    }
  });
});

describe('identity to upstream', () => {
  it('publishes only the public signing key', async () => {
    const response = await api(`${gw.url}/.well-known/jwks.json`);
    expect(response.status).toBe(200);
    const keys = response.body.keys as JWK[];
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: 'EC', alg: 'ES256', use: 'sig' });
    expect(typeof keys[0]!.kid).toBe('string');
    for (const privateMember of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(keys[0]).not.toHaveProperty(privateMember);
  });

  it("sends a short-lived assertion for the user and server, never the user's own token", async () => {
    const jwks = createLocalJWKSet((await api(`${gw.url}/.well-known/jwks.json`)).body as { keys: JWK[] });
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const first = proxy.seen.length;
    const response = await call(gw, 'hr', 'get_employee', alice, { employeeId: 'E-1002' }, {
      'x-request-id': 'upstream-test-1',
      traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
    });
    expect(response.status).toBe(200);

    const sent = proxy.seen.slice(first);
    expect(sent.length).toBeGreaterThan(0);
    for (const headers of sent) {
      // The user's token appears nowhere, in no header.
      expect(JSON.stringify(headers)).not.toContain(alice);
      expect(headers['x-request-id']).toBe('upstream-test-1');
      expect(headers.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-0[01]$`));
      expect(headers.traceparent).not.toContain('00f067aa0ba902b7');

      const authorization = headers.authorization ?? '';
      expect(authorization).toMatch(/^Bearer /);
      const { payload, protectedHeader } = await jwtVerify(authorization.slice('Bearer '.length), jwks, { issuer: TEST_ASSERTION_ISSUER, audience: 'hr' });
      const user = findDemoUser('alice.chen')!;
      expect(protectedHeader.alg).toBe('ES256');
      expect(payload).toMatchObject({ sub: user.sub, username: 'alice.chen', email: user.email, azp: 'mcp-gateway' });
      expect(payload.roles).toEqual(expect.arrayContaining(['employee', 'hr-read', 'hr-write']));
      expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(60);
      expect(payload.exp! * 1000).toBeGreaterThan(Date.now());
    }
  });

  it('reuses one assertion per user and server while it is fresh', async () => {
    const first = proxy.seen.length;
    expect((await call(gw, 'hr', 'list_employees', alice, { limit: 1 })).status).toBe(200);
    expect((await call(gw, 'hr', 'list_employees', alice, { limit: 1 })).status).toBe(200);
    const assertions = new Set(proxy.seen.slice(first).map((headers) => headers.authorization));
    expect(assertions.size).toBe(1);
  });

  describe('a sample server on its own', () => {
    const listTools = (token?: string) =>
      fetch(stack.servers.hr.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
      });

    const claimsFor = (username: string) => {
      const user = findDemoUser(username)!;
      return { username: user.username, email: user.email, roles: [...user.realmRoles, ...user.clientRoles], azp: 'mcp-gateway' };
    };

    it('refuses a call without an assertion', async () => {
      const response = await listTools();
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
    });

    it("refuses the user's own access token", async () => {
      expect((await listTools(alice)).status).toBe(401);
    });

    it('refuses a forged assertion (right claims and kid, wrong key) but accepts the real signer', async () => {
      const { kid } = (await api(`${gw.url}/.well-known/jwks.json`)).body.keys[0] as JWK;
      const sign = (key: CryptoKey) =>
        new SignJWT(claimsFor('alice.chen'))
          .setProtectedHeader({ alg: 'ES256', kid: kid! })
          .setIssuer(TEST_ASSERTION_ISSUER)
          .setAudience('hr')
          .setSubject(findDemoUser('alice.chen')!.sub)
          .setIssuedAt()
          .setExpirationTime('60s')
          .sign(key);
      const forger = await generateKeyPair('ES256');
      const forged = await listTools(await sign(forger.privateKey));
      expect(forged.status).toBe(401);
      expect(forged.headers.get('www-authenticate')).toMatch(/invalid_token/);

      // Control: the same assertion signed with the gateway's key is accepted, so the refusal was the key.
      const genuine = await listTools(await sign(await importPKCS8(stack.signingKeyPem, 'ES256')));
      expect(genuine.status).not.toBe(401);
      expect(genuine.status).toBeLessThan(500);
    });

    it('refuses an assertion addressed to another server', async () => {
      const gatewayKey = await importPKCS8(stack.signingKeyPem, 'ES256');
      const { kid } = (await api(`${gw.url}/.well-known/jwks.json`)).body.keys[0] as JWK;
      const token = await new SignJWT(claimsFor('alice.chen'))
        .setProtectedHeader({ alg: 'ES256', kid: kid! })
        .setIssuer(TEST_ASSERTION_ISSUER)
        .setAudience('finance')
        .setSubject(findDemoUser('alice.chen')!.sub)
        .setIssuedAt()
        .setExpirationTime('60s')
        .sign(gatewayKey);
      expect((await listTools(token)).status).toBe(401);
    });
  });
});

// Last in the file: it stops the sales sample server for good.
describe('circuit breaker', () => {
  let guarded: RunningGateway;
  let eve: string;

  beforeAll(async () => {
    guarded = await startGateway(testConfig(stack, { upstream: { callTimeoutMs: 2_000, breaker: { consecutiveFailures: 3, halfOpenAfterMs: 600_000 } } }));
    eve = await stack.issuer.tokenFor('eve.thompson');
    await guarded.gateway.tools.catalogue.loaded();
  });
  afterAll(async () => {
    await guarded?.close();
  });

  it('a live server failing on every attempt opens the breaker; then calls fail fast without a request', async () => {
    const support = stack.servers.support.controls;
    expect((await call(guarded, 'support', 'list_tickets', alice, { limit: 1 })).status).toBe(200);
    const requests = support.requestCount();
    support.failNext(3, 503);
    const failing = await call(guarded, 'support', 'list_tickets', alice, { limit: 1 });
    expect(failing.status).toBe(503);
    expect(failing.body.error.code).toBe('MCP_2003');
    expect(support.requestCount()).toBe(requests + 3);

    const fast = await call(guarded, 'support', 'list_tickets', alice, { limit: 1 });
    expect(fast.status).toBe(503);
    expect(fast.body.error).toMatchObject({ code: 'MCP_2003', retryable: true, details: { server: 'support', reason: 'circuit open' } });
    expect(support.requestCount()).toBe(requests + 3);
    expect(await counter(guarded, 'gateway_upstream_breaker_open{server="support"}')).toBe(1);
  });

  it('after the half-open delay one probe goes through, and a success closes the breaker', async () => {
    const recovering = await startGateway(testConfig(stack, { upstream: { breaker: { consecutiveFailures: 3, halfOpenAfterMs: 500 } } }));
    try {
      await recovering.gateway.tools.catalogue.loaded();
      const support = stack.servers.support.controls;
      support.failNext(3, 503);
      expect((await call(recovering, 'support', 'list_tickets', alice, { limit: 1 })).status).toBe(503);
      expect(await counter(recovering, 'gateway_upstream_breaker_open{server="support"}')).toBe(1);
      await waitFor(async () => (await call(recovering, 'support', 'list_tickets', alice, { limit: 1 })).status === 200, {
        intervalMs: 100,
        what: 'the half-open probe to succeed',
      });
      expect(await counter(recovering, 'gateway_upstream_breaker_open{server="support"}')).toBe(0);
      expect((await api(`${recovering.url}/health/ready`)).body.checks['upstream:support']).toMatchObject({ ok: true });
    } finally {
      await recovering.close();
    }
  });

  it('a dead server: a refused write is retried, the breaker opens, other servers keep answering, readiness names it', async () => {
    expect((await call(guarded, 'sales', 'list_deals', eve, { limit: 1 })).status).toBe(200);
    const pending = await call(guarded, 'sales', 'close_deal', eve, { dealId: 'D-5001', outcome: 'won' });
    expect(pending.status).toBe(202);
    await stack.servers.sales.close();

    // Connection refused means the write never reached the server, so even a write is retried.
    const retries = await counter(guarded, SALES_RETRIES);
    const approved = await api(`${guarded.url}/api/confirmations/${pending.body.confirmation.id}`, { token: eve, body: { decision: 'approve' } });
    expect(approved.status).toBe(503);
    expect(approved.body.error.code).toBe('MCP_2003');
    expect(await counter(guarded, SALES_RETRIES)).toBe(retries + 2);

    // Three failed attempts opened the breaker: the next call does not try.
    const fast = await call(guarded, 'sales', 'list_deals', eve, { limit: 1 });
    expect(fast.status).toBe(503);
    expect(fast.body.error).toMatchObject({ code: 'MCP_2003', details: { server: 'sales', reason: 'circuit open' } });
    expect(await counter(guarded, SALES_RETRIES)).toBe(retries + 2);

    const other = await call(guarded, 'hr', 'list_employees', eve, { limit: 1 });
    expect(other.status).toBe(200);

    const ready = await api(`${guarded.url}/health/ready`);
    expect(ready.status).toBe(200);
    // One upstream down of several: the replica stays healthy and names it (review GAP-008).
    expect(ready.body.status).toBe('healthy');
    expect(ready.body.checks['upstream:sales']).toMatchObject({ role: 'upstream', state: 'down', ok: false });
    expect(ready.body.checks['upstream:hr']).toMatchObject({ ok: true });
    expect(ready.body.checks.store).toMatchObject({ role: 'store', ok: true });
  });
});
