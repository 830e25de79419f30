/** The upstream HTTP client: the fetch the SDK transports get, over the keep-alive pool (src/upstream/http-client.ts). */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headerRecord, sendUpstream } from '../../src/upstream/http-client.js';
import { freePort } from '../helpers/ports.js';

let server: Server;
let base: string;
const seenSockets = new Set<unknown>();

beforeAll(async () => {
  server = createServer((request, response) => {
    seenSockets.add(request.socket);
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      switch (request.url) {
        case '/json':
          response.writeHead(200, { 'content-type': 'application/json', 'x-multi': ['a', 'b'] });
          response.end(JSON.stringify({ method: request.method, body, header: request.headers['x-call'] ?? null }));
          return;
        case '/sse':
          response.writeHead(200, { 'content-type': 'text/event-stream' });
          response.write('data: first\n\n');
          setTimeout(() => response.end('data: second\n\n'), 50);
          return;
        case '/empty':
          response.writeHead(204).end();
          return;
        case '/redirect':
          response.writeHead(307, { location: '/json' }).end();
          return;
        case '/slow':
          setTimeout(() => response.writeHead(200).end('late'), 5_000).unref();
          return;
        default:
          response.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const post = (body: string, extra: RequestInit = {}): RequestInit => ({ method: 'POST', body, redirect: 'manual', ...extra });

describe('upstream http client', () => {
  it('sends the body and the given headers, and answers like fetch (status, headers, json)', async () => {
    const response = await sendUpstream(`${base}/json`, post('{"a":1}'), { 'x-call': 'one' });
    expect(response.status).toBe(200);
    expect(response.ok).toBe(true);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('x-multi')).toBe('a, b');
    expect(await response.json()).toEqual({ method: 'POST', body: '{"a":1}', header: 'one' });
  });

  it('reuses kept-alive connections: sequential requests do not open one each', async () => {
    seenSockets.clear();
    // The pool may open a second connection while the first is being released; never one per request.
    for (let i = 0; i < 20; i++) await (await sendUpstream(new URL(`${base}/json`), post('{}'), {})).text();
    expect(seenSockets.size).toBeLessThanOrEqual(2);
  });

  it('streams an event-stream answer as it arrives', async () => {
    const response = await sendUpstream(`${base}/sse`, post('{}'), {});
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain('first');
    let rest = '';
    for (let part = await reader.read(); !part.done; part = await reader.read()) rest += new TextDecoder().decode(part.value);
    expect(rest).toContain('second');
  });

  it('answers a null-body status without a body', async () => {
    const response = await sendUpstream(`${base}/empty`, post('{}'), {});
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');
  });

  it("leaves a redirect to the caller with redirect: 'manual', and follows it otherwise (full fetch)", async () => {
    const manual = await sendUpstream(`${base}/redirect`, { method: 'GET', redirect: 'manual' }, {});
    expect(manual.status).toBe(307);
    expect(manual.headers.get('location')).toBe('/json');
    const followed = await sendUpstream(`${base}/redirect`, { method: 'GET' }, {});
    expect(followed.status).toBe(200);
    expect(await followed.json()).toMatchObject({ method: 'GET' });
  });

  it('fails like fetch when nothing listens: a TypeError whose cause has the code', async () => {
    const port = await freePort();
    const failure = await sendUpstream(`http://127.0.0.1:${port}/json`, post('{}'), {}).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TypeError);
    expect((failure as TypeError & { cause: { code?: string } }).cause.code).toBe('ECONNREFUSED');
  });

  it('rejects with the abort reason when the signal aborts', async () => {
    const controller = new AbortController();
    const reason = new Error('caller left');
    setTimeout(() => controller.abort(reason), 50);
    await expect(sendUpstream(`${base}/slow`, post('{}', { signal: controller.signal }), {})).rejects.toBe(reason);
  });

  it('takes headers as a Headers object, pairs or a record, names lower-cased', () => {
    expect(headerRecord(new Headers({ 'X-A': '1' }))).toEqual({ 'x-a': '1' });
    expect(headerRecord([['X-B', '2']])).toEqual({ 'x-b': '2' });
    expect(headerRecord({ 'X-C': '3' })).toEqual({ 'x-c': '3' });
    expect(headerRecord(undefined)).toEqual({});
  });
});
