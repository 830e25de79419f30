/**
 * What the browser tests share: a real gateway (with the demo's /dev routes) behind a loopback relay
 * whose network can be dropped, Debian's Chromium driven by playwright-core, and small steps a person
 * takes in the console (sign in, ask, wait for the answer). Not a test file itself.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import { expect } from 'vitest';
import type { DemoStack } from '../../src/dev/demo-stack.js';
import { DEV_CLIENT_ID } from '../../src/dev/dev-issuer.js';
import { registerDevRoutes } from '../../src/dev/dev-routes.js';
import { deepMerge, startGateway, startTestStack, testConfig, type ConfigOverrides, type RunningGateway, type TestStack } from '../helpers/stack.js';

/** Debian's Chromium; CI installs the `chromium` package. */
export const CHROMIUM = '/usr/bin/chromium';

/** With UPDATE_SCREENSHOTS=1 the README's screenshots are rewritten; otherwise they go to a temporary folder. */
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? fileURLToPath(new URL('../../docs/images/', import.meta.url)) : tmpdir();

export interface Relay {
  url: string;
  /** Cuts every open connection and refuses new ones, as a dropped network does. */
  down(): void;
  up(): void;
  close(): Promise<void>;
}

/** A loopback TCP relay in front of the gateway: the browser's only way to reach it. */
export async function startRelay(target: string): Promise<Relay> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  let isDown = false;
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server = createServer((client) => {
    if (isDown) {
      client.destroy();
      return;
    }
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
    down: () => {
      isDown = true;
      cut();
    },
    up: () => {
      isDown = false;
    },
    close: () => {
      cut();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface Harness {
  stack: TestStack;
  gateway: RunningGateway;
  relay: Relay;
  browser: Browser;
  /** The console's address (through the relay). */
  base: string;
  close(): Promise<void>;
}

/** `config`: overrides of the gateway's configuration (another upstream, say). */
export async function startHarness(options: { config?: ConfigOverrides } = {}): Promise<Harness> {
  // A little model latency, so streaming and the Stop button are visible as a person sees them.
  const stack = await startTestStack({ firstTokenMs: 50, tokenDelayMs: 2 });
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
  // The demo's confirmation previews, given time enough on a busy machine that the cards always have theirs.
  const gateway = await startGateway(testConfig(stack, deepMerge({ confirmations: { previewTimeoutMs: 10_000 } }, options.config ?? {}) as ConfigOverrides), {
    extraRoutes: (app) => registerDevRoutes(app, demo),
  });
  const relay = await startRelay(gateway.url);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  return {
    stack,
    gateway,
    relay,
    browser,
    base: relay.url,
    async close() {
      await browser.close();
      await relay.close();
      await gateway.close();
      await stack.close();
    },
  };
}

export async function newPage(harness: Harness, options: BrowserContextOptions = {}): Promise<Page> {
  const context = await harness.browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  pageErrors.set(page, errors);
  await page.goto(harness.base);
  return page;
}

const pageErrors = new WeakMap<Page, string[]>();

/** A script error in the console is a failure, whatever else the test looks at. */
export function expectNoScriptErrors(page: Page): void {
  expect(pageErrors.get(page) ?? [], 'errors thrown in the page').toEqual([]);
}

/** Signs in through the identity provider: the console's button, the issuer's login page, back. */
export async function signInWithIssuer(page: Page, displayName: string): Promise<void> {
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL(/\/authorize\?/);
  await page.getByLabel(displayName).check();
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#workspace').waitFor({ state: 'visible' });
}

/** Signs in with the embedded demo's user picker. */
export async function signInAsDemoUser(page: Page, username: string): Promise<void> {
  await page.locator('#demo-user').selectOption(username);
  await page.getByRole('button', { name: 'Sign in as demo user' }).click();
  await page.locator('#whoami-name', { hasText: username }).waitFor();
}

export async function ask(page: Page, question: string): Promise<void> {
  await page.locator('#query').fill(question);
  await page.locator('#query').press('Control+Enter');
  await page.locator('.turn .question', { hasText: question }).last().waitFor();
}

/** The newest turn of the transcript. */
export const lastTurn = (page: Page) => page.locator('.turn').last();

/** Waits until the newest turn has finished, and returns its status class. */
export async function waitForDone(page: Page): Promise<string> {
  const turn = lastTurn(page);
  await turn.and(page.locator('.is-completed, .is-failed, .is-cancelled, .is-expired')).waitFor({ timeout: 60_000 });
  const classes = (await turn.getAttribute('class')) ?? '';
  return /is-(completed|failed|cancelled|expired)/.exec(classes)?.[1] ?? 'unknown';
}

export async function screenshot(page: Page, name: string): Promise<string> {
  const path = join(SCREENSHOTS, name);
  await page.screenshot({ path });
  return path;
}

const axeSource = readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown[] }>;
}

/** Runs axe-core (WCAG 2.1 A and AA rules) in the page and returns its violations, readably. */
export async function accessibilityViolations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol, so the page's CSP (scripts only from self) does not block it.
  await page.evaluate(await axeSource);
  const violations = await page.evaluate<AxeViolation[]>(
    "axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }).then((result) => result.violations)",
  );
  return violations.map((violation) => `${violation.id} (${violation.impact}): ${violation.help} at ${violation.nodes.map((node) => JSON.stringify(node.target)).join(', ')}`);
}
