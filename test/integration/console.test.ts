/**
 * The web console: served by the gateway under its strict CSP, next to API routes that still answer
 * JSON; and the console's own browser modules (API client, SSE reader, run follower, demo sign-in),
 * loaded in Node and driven against a real gateway, dev issuer, sample servers and simulated model.
 */
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoStack } from '../../src/dev/demo-stack.js';
import { DEV_CLIENT_ID } from '../../src/dev/dev-issuer.js';
import { registerDevRoutes } from '../../src/dev/dev-routes.js';
import { RunStore } from '../../src/runs/run-store.js';
import { api, startGateway, startTestStack, testConfig, type RunningGateway, type TestStack } from '../helpers/stack.js';

const WEB = new URL('../../web/', import.meta.url);
const JAVASCRIPT = /^(text|application)\/javascript/;

// The console's modules are plain browser JavaScript outside the TypeScript project: typed here by use.
interface RunEvent {
  type: string;
  id: string | undefined;
  data: Record<string, unknown>;
}
interface ApiClient {
  me(): Promise<Record<string, unknown>>;
  decide(confirmationId: string, decision: 'approve' | 'reject'): Promise<unknown>;
  cancelRun(runId: string): Promise<unknown>;
}
interface ApiModule {
  ApiClient: new (baseUrl: string, token: () => string | undefined) => ApiClient;
  ApiError: abstract new (...args: never[]) => Error & { code: string; status: number; requestId?: string };
}
interface FollowOptions {
  onEvent: (event: RunEvent) => void;
  onStarted?: (runId: string) => void;
  onReconnecting?: (attempt: number, pauseMs: number) => void;
  signal?: AbortSignal;
}
interface RunStreamModule {
  followRun(api: ApiClient, request: { query: string; conversationId?: string }, options: FollowOptions): Promise<{ runId: string; status: string; reconnects: number }>;
}
interface DemoInfo {
  tokenEndpoint: string;
  clientId: string;
  users: string[];
}
interface SessionModule {
  demoInfo(baseUrl: string): Promise<DemoInfo | undefined>;
  demoToken(info: DemoInfo, username: string, baseUrl: string): Promise<string>;
}

/** A specifier TypeScript does not resolve: the modules have no declarations, by design. */
const loadModule = async <T>(name: string): Promise<T> => (await import(new URL(`console/${name}`, WEB).href)) as T;

let stack: TestStack;
let gw: RunningGateway;
let base: string;
let alice: string;
let consoleApi: ApiModule;
let runStream: RunStreamModule;
let session: SessionModule;

beforeAll(async () => {
  stack = await startTestStack();
  // The demo's /dev routes, built on this stack's issuer, so the console's demo sign-in has something to find.
  const demo: DemoStack = {
    endpoints: {
      issuerUrl: stack.issuer.issuerUrl,
      jwksUri: stack.issuer.jwksUri,
      clientId: DEV_CLIENT_ID,
      servers: { hr: stack.servers.hr.url, finance: stack.servers.finance.url, sales: stack.servers.sales.url, support: stack.servers.support.url },
      simulatedModelUrl: stack.model.url,
    },
    issuer: stack.issuer,
    model: stack.model,
    close: async () => {},
  };
  gw = await startGateway(testConfig(stack, { sse: { retryMs: 20 } }), {
    extraRoutes: (app) => registerDevRoutes(app, demo),
  });
  base = `${gw.url}/`;
  alice = await stack.issuer.tokenFor('alice.chen');
  [consoleApi, runStream, session] = await Promise.all([loadModule<ApiModule>('api.js'), loadModule<RunStreamModule>('run-stream.js'), loadModule<SessionModule>('session.js')]);
});

afterAll(async () => {
  await gw?.close();
  await stack?.close();
});

/** The relative module imports of a console script (`from './x.js'`). */
function importsOf(source: string): string[] {
  return [...source.matchAll(/\bfrom\s+'(\.\/[^']+)'/g)].map((match) => match[1]!);
}

/** A GET with the path sent exactly as written (fetch would normalise dot segments away). */
function rawGet(url: string, path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A loopback TCP relay to the gateway whose connections can be cut, as a flaky network does. */
async function startRelay(target: string): Promise<{ url: string; cut(): void; close(): Promise<void> }> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    track(client);
    track(upstream);
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('relay is not on TCP');
  const cut = (): void => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    url: `http://127.0.0.1:${address.port}/`,
    cut,
    close: () => {
      cut();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('the console is served', () => {
  it('GET / is the console page, with its landmarks and forms', async () => {
    const response = await fetch(base);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).toContain('<script type="module" src="console/main.js"></script>');
    for (const id of ['main', 'notice', 'oidc-button', 'token-form', 'token-input', 'demo-form', 'demo-user', 'workspace', 'conversation-list', 'profile-body', 'transcript', 'ask-form', 'query', 'stop', 'admin', 'announcer']) {
      expect(html, `#${id}`).toContain(`id="${id}"`);
    }
    // Every form control has a label.
    for (const control of ['token-input', 'demo-user', 'query']) expect(html).toMatch(new RegExp(`<label for="${control}"[ >]`));
    expect(html).toMatch(/aria-live="polite"/);
  });

  it('the page runs under the edge CSP: no inline script or style, scripts only from self', async () => {
    const response = await fetch(base);
    const csp = response.headers.get('content-security-policy') ?? '';
    const directives = new Map(csp.split(';').map((part) => part.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
    expect(directives.get('default-src')).toEqual(["'self'"]);
    expect(directives.get('script-src')).toEqual(["'self'"]);
    // The console's OIDC sign-in may reach the configured issuer, and nothing else.
    expect(directives.get('connect-src')).toEqual(["'self'", new URL(stack.issuer.issuerUrl).origin]);
    // Plain-HTTP deployments must keep working: no forced upgrade to https.
    expect(directives.has('upgrade-insecure-requests')).toBe(false);
    const html = await response.text();
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, body] of scripts) {
      expect(attributes).toMatch(/\bsrc="console\/[\w-]+\.js"/);
      expect(body!.trim()).toBe('');
    }
    expect(html).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=/i);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('serves every asset the page links and every module the scripts import, with the right type', async () => {
    const html = await (await fetch(base)).text();
    const linked = [...html.matchAll(/\b(?:src|href)="(console\/[^"]+)"/g)].map((match) => match[1]!);
    expect(linked).toEqual(expect.arrayContaining(['console/main.js', 'console/styles.css', 'console/icon.svg']));
    const seen = new Set<string>();
    const queue = [...linked];
    while (queue.length > 0) {
      const path = queue.shift()!;
      if (seen.has(path)) continue;
      seen.add(path);
      const response = await fetch(new URL(path, base));
      expect(response.status, path).toBe(200);
      const type = response.headers.get('content-type') ?? '';
      const body = await response.text();
      if (path.startsWith('console/vendor/')) {
        // Libraries' own browser builds, served from the installed packages.
        expect(type, path).toMatch(JAVASCRIPT);
        expect(body.length, path).toBeGreaterThan(1000);
      } else if (path.endsWith('.js')) {
        expect(type, path).toMatch(JAVASCRIPT);
        // What the gateway serves is the file in web/, and its own imports must resolve too.
        expect(body).toBe(await readFile(new URL(path, WEB), 'utf8'));
        for (const specifier of importsOf(body)) queue.push(new URL(specifier, new URL(path, 'http://x/')).pathname.slice(1));
      } else if (path.endsWith('.css')) expect(type, path).toMatch(/^text\/css/);
      else if (path.endsWith('.svg')) expect(type, path).toMatch(/^image\/svg\+xml/);
    }
    expect([...seen]).toEqual(
      expect.arrayContaining(['console/api.js', 'console/sse.js', 'console/run-stream.js', 'console/turn-view.js', 'console/session.js', 'console/vendor/marked.js', 'console/vendor/purify.js', 'console/vendor/oauth4webapi.js']),
    );
  });

  it('the console never writes server text as HTML', async () => {
    for (const name of ['main.js', 'dom.js', 'error-view.js', 'profile-view.js', 'turn-view.js', 'conversations-view.js', 'admin-view.js', 'oidc.js']) {
      const source = await readFile(new URL(`console/${name}`, WEB), 'utf8');
      expect(source, name).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|localStorage/);
    }
    // Markdown is the one place HTML is written, and only what DOMPurify returns.
    const markdown = await readFile(new URL('console/markdown.js', WEB), 'utf8');
    expect(markdown.match(/innerHTML/g)).toHaveLength(1);
    expect(markdown).toMatch(/innerHTML = DOMPurify\.sanitize\(/);
  });

  it('an unknown asset is the JSON 404, and nothing outside web/console is reachable', async () => {
    const missing = await api(`${gw.url}/console/nope.js`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^application\/json/);
    expect(missing.body).toMatchObject({ error: { code: 'REQ_4004', requestId: missing.headers.get('x-request-id') } });
    expect((await api(`${gw.url}/console/vendor/nope.js`)).status).toBe(404);
    for (const path of ['/console/../package.json', '/console/%2e%2e/package.json', '/console/..%2fpackage.json', '/console/%2e%2e/%2e%2e/package.json', '/console/vendor/..%2f..%2fpackage.json']) {
      const response = await rawGet(gw.url, path);
      expect(response.status, path).toBeGreaterThanOrEqual(400);
      expect(response.body, path).not.toContain('"mcp-gateway"');
    }
  });
});

describe('the console learns how to sign in', () => {
  it('GET /console/config.json names the issuer, public client and scopes, without a token', async () => {
    const response = await api(`${gw.url}/console/config.json`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ signIn: { issuer: stack.issuer.issuerUrl, clientId: DEV_CLIENT_ID, scopes: 'openid profile email' }, adminRole: 'gateway-admin' });
  });

  it('without console.signIn it says so, and the CSP allows connecting to nothing else', async () => {
    const plain = await startGateway({ ...testConfig(stack), console: {} });
    try {
      const response = await api(`${plain.url}/console/config.json`);
      expect(response.body).toMatchObject({ signIn: null });
      const csp = (await fetch(`${plain.url}/`)).headers.get('content-security-policy') ?? '';
      expect(csp).toMatch(/connect-src 'self'(;|$)/);
    } finally {
      await plain.close();
    }
  });
});

describe('API routes are untouched by the console', () => {
  it('an unknown /api route is the JSON 404, not the page', async () => {
    const response = await api(`${gw.url}/api/x`, { token: alice });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.body).toMatchObject({ error: { code: 'REQ_4004', message: expect.any(String), requestId: response.headers.get('x-request-id') } });
  });

  it('the API, health and dev routes still answer JSON', async () => {
    expect(await api(`${gw.url}/api/me`)).toMatchObject({ status: 401, body: { error: { code: 'AUTH_1001' } } });
    expect(await api(`${gw.url}/api/me`, { token: alice })).toMatchObject({ status: 200, body: { username: 'alice.chen' } });
    const live = await api(`${gw.url}/health/live`);
    expect(live.status).toBe(200);
    expect(live.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await api(`${gw.url}/dev/info`)).toMatchObject({ status: 200, body: { profile: 'embedded-demo' } });
  });
});

describe('the console modules against a real gateway', () => {
  const client = (token: string | undefined): ApiClient => new consoleApi.ApiClient(base, () => token);

  it('an API failure is an ApiError with the gateway’s code, status and request id', async () => {
    const failure = await client('not-a-token')
      .me()
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(consoleApi.ApiError);
    expect(failure).toMatchObject({ code: 'AUTH_1002', status: 401, requestId: expect.stringMatching(/\S/) });
  });

  it('demo sign-in: finds /dev/info and gets a working token from the dev issuer', async () => {
    const info = await session.demoInfo(base);
    // Same origin as the page: the console's CSP allows no other.
    expect(info).toMatchObject({ tokenEndpoint: `${gw.url}/dev/token`, clientId: DEV_CLIENT_ID });
    expect(info!.users).toContain('bob.martinez');
    const token = await session.demoToken(info!, 'bob.martinez', base);
    expect(await client(token).me()).toMatchObject({ username: 'bob.martinez', roles: expect.arrayContaining(['finance-read']) });
  });

  it('demo sign-in is not offered by a gateway without /dev/info', async () => {
    const plain = await startGateway(testConfig(stack));
    try {
      expect(await session.demoInfo(`${plain.url}/`)).toBeUndefined();
    } finally {
      await plain.close();
    }
  });

  it('follows a run through a confirmation and a dropped connection, missing nothing, then follows up in the conversation', async () => {
    const relay = await startRelay(gw.url);
    try {
      const direct = client(alice);
      const events: RunEvent[] = [];
      const reconnects: number[] = [];
      let decided: Promise<unknown> | undefined;
      const result = await runStream.followRun(
        new consoleApi.ApiClient(relay.url, () => alice),
        { query: 'delete employee E-1042' },
        {
          onReconnecting: (attempt) => reconnects.push(attempt),
          onEvent: (event) => {
            events.push(event);
            if (event.type !== 'confirmation_required') return;
            // The network drops the stream; the approval lands (on another connection) while the reader is away.
            relay.cut();
            decided = direct.decide(event.data.confirmationId as string, 'approve');
          },
        },
      );
      await decided;
      expect(result.status).toBe('completed');
      expect(result.reconnects).toBeGreaterThanOrEqual(1);
      expect(reconnects[0]).toBe(1);
      const types = events.map((event) => event.type);
      expect(types[0]).toBe('run');
      expect(types).toEqual(expect.arrayContaining(['tool_call', 'confirmation_required', 'confirmation_resolved', 'tool_result', 'text', 'done']));
      expect(events.find((event) => event.type === 'confirmation_resolved')?.data).toMatchObject({ decision: 'approve' });
      expect(events.find((event) => event.type === 'tool_call')?.data).toMatchObject({ server: 'hr', tool: 'delete_employee' });
      // Exactly the run's log, in order: the resume replayed what was missed and nothing twice.
      const log = await new RunStore(gw.gateway.store, gw.gateway.config.runs.ttlMs).events(result.runId);
      expect(events.map((event) => [event.id, event.type])).toEqual(log.map((event) => [event.id, event.type]));

      const conversationId = events[0]!.data.conversationId as string;
      const followUp: RunEvent[] = [];
      const next = await runStream.followRun(direct, { query: 'list my employees', conversationId }, { onEvent: (event) => followUp.push(event) });
      expect(next.status).toBe('completed');
      expect(followUp[0]).toMatchObject({ type: 'run', data: { conversationId } });
    } finally {
      await relay.close();
    }
  });

  it('Stop cancels a run waiting for confirmation; the same stream ends with done: cancelled', async () => {
    const alices = client(alice);
    const events: RunEvent[] = [];
    let runId: string | undefined;
    let cancelled: Promise<unknown> | undefined;
    const result = await runStream.followRun(
      alices,
      { query: 'delete employee E-1042' },
      {
        onStarted: (id) => (runId = id),
        onEvent: (event) => {
          events.push(event);
          if (event.type === 'confirmation_required') cancelled = alices.cancelRun(runId!);
        },
      },
    );
    expect(await cancelled).toMatchObject({ runId, status: 'cancelling' });
    expect(result).toMatchObject({ runId, status: 'cancelled', reconnects: 0 });
    expect(events.find((event) => event.type === 'confirmation_resolved')?.data).toMatchObject({ decision: 'withdrawn' });
    expect(events.some((event) => event.type === 'tool_result')).toBe(false);
  });

  it('a refused query rejects with the gateway’s error before any event', async () => {
    const events: RunEvent[] = [];
    const failure = await runStream
      .followRun(client(alice), { query: '   ' }, { onEvent: (event) => events.push(event) })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(consoleApi.ApiError);
    expect(failure).toMatchObject({ code: 'REQ_4000', status: 400 });
    expect(events).toEqual([]);
  });
});
