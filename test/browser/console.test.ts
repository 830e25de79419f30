/**
 * The console as people use it, in Chromium: sign-in through the identity provider's login page, the
 * README's example with approval and with rejection, a markdown answer, a reload and a second device
 * that bring the conversation back, a phone, a 10 s network drop while a confirmation waits, the admin
 * view, keyboard-only use, and an axe-core scan of every screen, light and dark.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '../helpers/stack.js';
import {
  accessibilityViolations,
  ask,
  expectNoScriptErrors,
  lastTurn,
  newPage,
  screenshot,
  signInAsDemoUser,
  signInWithIssuer,
  startHarness,
  waitForDone,
  type Harness,
} from './harness.js';

let harness: Harness;

beforeAll(async () => {
  harness = await startHarness();
});

afterAll(async () => {
  await harness?.close();
});

/** How the demo's preview rule describes an employee (src/config/demo-profile.ts). */
function employeeLine(id: string): string {
  const employee = harness.stack.servers.hr.controls.data.employees.get(id);
  if (employee === undefined) throw new Error(`no employee ${id}`);
  return `${employee.name} — ${employee.title}, ${employee.department} (${employee.location})`;
}

describe('signing in', () => {
  it('through the identity provider’s login page (authorization code + PKCE), with the token kept out of URLs and cookies', async () => {
    const page = await newPage(harness);
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, 'console-sign-in.png');
    await signInWithIssuer(page, 'Alice Chen');
    await expect.poll(() => page.locator('#whoami-name').textContent()).toBe('alice.chen');
    // Back on the console's own address: no code, state or token left in the address bar.
    expect(page.url()).toBe(harness.base);
    expect(await page.context().cookies()).toEqual([]);
    const stored = await page.evaluate<string[]>('Object.keys(sessionStorage)');
    expect(stored).toContain('mcp-gateway.console.oidc-session');
    const local = await page.evaluate<number>('localStorage.length');
    expect(local).toBe(0);
    // A reload keeps the tab signed in.
    await page.reload();
    await page.locator('#workspace').waitFor({ state: 'visible' });
    // Signing out ends the session at the provider (RP-initiated logout) and comes back signed out.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#sign-in').waitFor({ state: 'visible' });
    expect(await page.evaluate<string | null>("sessionStorage.getItem('mcp-gateway.console.oidc-session')")).toBeNull();
    expectNoScriptErrors(page);
    await page.context().close();
  });

  it('a pasted token still works as a fallback', async () => {
    const page = await newPage(harness);
    await page.getByText('Paste an access token instead').click();
    await page.getByLabel('Access token').fill(await harness.stack.issuer.tokenFor('frank.lee'));
    await page.getByRole('button', { name: 'Use this token' }).click();
    await expect.poll(() => page.locator('#whoami-name').textContent()).toBe('frank.lee');
    expectNoScriptErrors(page);
    await page.context().close();
  });
});

describe('the README’s example: “delete employee E-1042” as alice.chen', () => {
  it('a rejection is shown as rejected, not as a failure', async () => {
    const page = await newPage(harness);
    await signInAsDemoUser(page, 'alice.chen');
    await ask(page, 'delete employee E-1042');
    const card = lastTurn(page).locator('.confirmation');
    await card.waitFor();
    await card.getByRole('button', { name: 'Reject' }).click();
    await expect.poll(() => card.locator('.confirmation-outcome').textContent()).toBe('Rejected: not run');
    expect(await waitForDone(page)).toBe('completed');
    const call = lastTurn(page).locator('.tool-call');
    expect(await call.locator('.tool-state').textContent()).toBe('rejected, not run');
    expect(await lastTurn(page).textContent()).not.toMatch(/failed/i);
    expectNoScriptErrors(page);
    await page.context().close();
  });

  it('with approval: the card says what will happen, in order with the text around it, and the employee is deleted', async () => {
    const page = await newPage(harness);
    await signInAsDemoUser(page, 'alice.chen');
    await ask(page, 'delete employee E-1042');
    const turn = lastTurn(page);
    const card = turn.locator('.confirmation');
    await card.waitFor();
    // The card: title, description, plain-words annotations, labelled arguments, countdown; and it has the keyboard.
    await expect.poll(() => card.locator('h3').textContent()).toBe('Approve: Delete employee?');
    expect(await card.locator('.confirmation-description').textContent()).toMatch(/Permanently delete an employee record/);
    expect(await card.locator('.tag').allTextContents()).toEqual(['Changes data', 'Cannot be undone']);
    expect(await card.locator('.arguments dt').allTextContents()).toEqual(['Employee id']);
    expect(await card.locator('.arguments dd').allTextContents()).toEqual(['E-1042']);
    // What the id refers to, read by the gateway with alice's identity (the demo's hr preview rule).
    expect(await card.locator('.confirmation-preview').textContent()).toBe(`This refers to: ${employeeLine('E-1042')}`);
    expect(await card.locator('.countdown').textContent()).toMatch(/^Expires in [45]:\d\d$/);
    expect(await page.evaluate<boolean>("document.activeElement?.classList.contains('confirmation') === true")).toBe(true);
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, 'console-confirmation.png');

    await card.getByRole('button', { name: 'Approve' }).click();
    expect(await waitForDone(page)).toBe('completed');
    expect(await card.locator('.confirmation-outcome').textContent()).toBe('Approved');
    expect(await turn.locator('.tool-call .tool-state').textContent()).toBe('done');
    // Events in the order they happened: text, the tool call, its card, then the answer after it.
    const order = (await turn.locator('.turn-body > *').evaluateAll((nodes) => nodes.map((node) => (node as { className: string }).className))).map((name) => name.split(' ')[0]);
    expect(order.indexOf('tool-call')).toBeLessThan(order.indexOf('confirmation'));
    expect(order.lastIndexOf('markdown')).toBeGreaterThan(order.indexOf('confirmation'));
    expect(await turn.locator('.markdown').last().textContent()).toMatch(/E-1042/);
    expect(await turn.textContent()).not.toMatch(/tool_output|hr__delete_employee/);
    await screenshot(page, 'console-chat.png');

    // The conversation survives a reload: listed in the sidebar and drawn again.
    await page.reload();
    await page.locator('.turn .question', { hasText: 'delete employee E-1042' }).waitFor();
    expect(await page.locator('.conversation-title').allTextContents()).toContain('delete employee E-1042');
    expect(await lastTurn(page).locator('.tool-call .tool-state').textContent()).toBe('done');

    // …and on another device: a fresh browser signed in as the same person opens it from the list.
    const other = await newPage(harness);
    await signInAsDemoUser(other, 'alice.chen');
    await other.locator('.conversation-open', { hasText: 'delete employee E-1042' }).first().click();
    await other.locator('.turn .question', { hasText: 'delete employee E-1042' }).waitFor();
    expect(await other.locator('#chat-title').textContent()).toBe('delete employee E-1042');
    expectNoScriptErrors(other);
    await other.context().close();
    expectNoScriptErrors(page);
    await page.context().close();
  });
});

describe('answers and conversations', () => {
  it('a markdown answer is rendered (lists or tables), sanitised, and can be copied', async () => {
    const page = await newPage(harness, { permissions: ['clipboard-read', 'clipboard-write'] });
    await signInAsDemoUser(page, 'bob.martinez');
    await ask(page, 'list the invoices');
    expect(await waitForDone(page)).toBe('completed');
    const answer = lastTurn(page).locator('.markdown');
    expect(await answer.locator('table, ul, ol').count()).toBeGreaterThan(0);
    const text = (await answer.allTextContents()).join('\n');
    expect(text).not.toMatch(/^\s*\|?\s*-{3,}/m);
    expect(text).not.toMatch(/\*\*/);
    await lastTurn(page).getByRole('button', { name: 'Copy answer' }).click();
    await expect.poll(() => lastTurn(page).getByRole('button', { name: 'Copied' }).count()).toBe(1);
    expect(await page.evaluate<string>('navigator.clipboard.readText()')).toMatch(/\S/);
    expectNoScriptErrors(page);
    await page.context().close();
  });

  it('conversations are renamed and deleted from the sidebar', async () => {
    const page = await newPage(harness);
    page.on('dialog', (dialog) => void dialog.accept());
    await signInAsDemoUser(page, 'dan.okafor');
    await ask(page, 'list the support tickets');
    expect(await waitForDone(page)).toBe('completed');
    const item = page.locator('.conversation', { hasText: 'list the support tickets' });
    await item.getByRole('button', { name: /^Rename/ }).click();
    await page.getByLabel('New name').fill('Ticket review');
    await page.getByLabel('New name').press('Enter');
    await page.locator('.conversation-title', { hasText: 'Ticket review' }).waitFor();
    expect(await page.locator('#chat-title').textContent()).toBe('Ticket review');
    await page.locator('.conversation', { hasText: 'Ticket review' }).getByRole('button', { name: /^Delete/ }).click();
    await page.locator('.conversation-title', { hasText: 'Ticket review' }).waitFor({ state: 'detached' });
    expect(await page.locator('#chat-title').textContent()).toBe('New conversation');
    expectNoScriptErrors(page);
    await page.context().close();
  });

  it('Stop cancels a running question, and Retry asks it again', async () => {
    const page = await newPage(harness);
    await signInAsDemoUser(page, 'alice.chen');
    await ask(page, 'update the salary of E-1050 to 99000');
    await lastTurn(page).locator('.confirmation').waitFor();
    await page.getByRole('button', { name: 'Stop' }).click();
    expect(await waitForDone(page)).toBe('cancelled');
    await lastTurn(page).getByRole('button', { name: 'Retry' }).click();
    await expect.poll(() => page.locator('.turn').count()).toBe(2);
    await lastTurn(page).locator('.confirmation').waitFor();
    await lastTurn(page).getByRole('button', { name: 'Reject' }).click();
    expect(await waitForDone(page)).toBe('completed');
    expectNoScriptErrors(page);
    await page.context().close();
  });
});

describe('a phone', () => {
  it('shows the chat first, never scrolls sideways, and keeps the conversation list a tap away', async () => {
    const page = await newPage(harness, { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    await signInAsDemoUser(page, 'alice.chen');
    // The question box is on the first screen; the profile is not.
    expect(await page.locator('#query').isVisible()).toBe(true);
    expect(await page.locator('#profile-body').isVisible()).toBe(false);
    await ask(page, `what does ${'Pneumonoultramicroscopicsilicovolcanoconiosis'.repeat(3)} mean? list the employees in HR`);
    expect(await waitForDone(page)).toBe('completed');
    const widths = await page.evaluate<{ scroll: number; view: number }>('({ scroll: document.documentElement.scrollWidth, view: window.innerWidth })');
    expect(widths.scroll).toBeLessThanOrEqual(widths.view);
    const box = await page.locator('#ask-form').boundingBox();
    expect((box?.y ?? 0) + (box?.height ?? 0)).toBeLessThanOrEqual(844 + 1);
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, 'console-phone.png');
    await page.getByRole('button', { name: 'Conversations' }).click();
    expect(await page.getByRole('button', { name: 'Conversations' }).getAttribute('aria-expanded')).toBe('true');
    await page.locator('.conversation-open').first().waitFor({ state: 'visible' });
    expectNoScriptErrors(page);
    await page.context().close();
  });
});

describe('a dropped network', () => {
  it('a reload while a confirmation waits shows the card again, and it can still be decided', async () => {
    const page = await newPage(harness);
    await signInAsDemoUser(page, 'alice.chen');
    await ask(page, 'delete employee E-1045');
    await lastTurn(page).locator('.confirmation').waitFor();
    await page.reload();
    const card = lastTurn(page).locator('.confirmation');
    await card.getByRole('button', { name: 'Approve' }).waitFor();
    expect(await page.locator('.turn').count()).toBe(1);
    expect(await card.locator('.confirmation-preview').textContent()).toBe(`This refers to: ${employeeLine('E-1045')}`);
    await card.getByRole('button', { name: 'Approve' }).click();
    expect(await waitForDone(page)).toBe('completed');
    expect(await lastTurn(page).locator('.tool-call .tool-state').textContent()).toBe('done');
    // Completed, it is now a conversation of its own.
    await page.locator('.conversation-title', { hasText: 'delete employee E-1045' }).waitFor();
    expectNoScriptErrors(page);
    await page.context().close();
  });

  it('a 10 s drop while a confirmation waits: the console reconnects, the card is still there, and approving finishes the run', async () => {
    const page = await newPage(harness);
    await signInAsDemoUser(page, 'alice.chen');
    await ask(page, 'delete employee E-1043');
    const card = lastTurn(page).locator('.confirmation');
    await card.waitFor();
    harness.relay.down();
    await lastTurn(page).locator('.turn-status', { hasText: /reconnecting/ }).waitFor();
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    harness.relay.up();
    await lastTurn(page).locator('.turn-status', { hasText: 'Waiting for your confirmation' }).waitFor({ timeout: 30_000 });
    expect(await card.getByRole('button', { name: 'Approve' }).isEnabled()).toBe(true);
    await card.getByRole('button', { name: 'Approve' }).click();
    expect(await waitForDone(page)).toBe('completed');
    expect(await lastTurn(page).locator('.tool-call .tool-state').textContent()).toBe('done');
    // Each event shown once: one card, one tool row.
    expect(await lastTurn(page).locator('.confirmation').count()).toBe(1);
    expect(await lastTurn(page).locator('.tool-call').count()).toBe(1);
    expectNoScriptErrors(page);
    await page.context().close();
  });
});

describe('the admin view', () => {
  it('shows readiness, upstreams and their circuits, pins and audit records, and revokes a session', async () => {
    // A record of its own to find: bob lists invoices through the direct tool API.
    const bob = await harness.stack.issuer.tokenFor('bob.martinez');
    expect((await api(`${harness.gateway.url}/api/tools/finance/list_invoices`, { token: bob, body: { arguments: {} } })).status).toBe(200);
    const page = await newPage(harness);
    await signInAsDemoUser(page, 'ops.admin');
    await page.getByRole('link', { name: 'Admin' }).click();
    await page.locator('#admin').waitFor({ state: 'visible' });
    const upstreams = page.getByRole('region', { name: 'Upstream servers table' });
    await upstreams.waitFor();
    expect(await upstreams.locator('tbody tr').count()).toBe(4);
    expect(await upstreams.locator('tbody').textContent()).toMatch(/closed/);
    expect(await page.getByRole('region', { name: 'Readiness checks table' }).locator('tbody tr').count()).toBeGreaterThanOrEqual(4);
    await page.getByRole('region', { name: 'Audit records table' }).waitFor();
    await page.getByLabel('User', { exact: true }).fill('bob.martinez');
    await page.getByLabel('Decision').selectOption('allow');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => page.getByRole('region', { name: 'Audit records table' }).locator('tbody').textContent()).toMatch(/finance\.list_invoices/);
    await page.getByLabel('Revoke').selectOption('sid');
    await page.getByLabel(/User id/).fill(randomUUID());
    await page.getByRole('button', { name: 'Revoke' }).click();
    await page.getByText(/^Revoked until/).waitFor();
    expect(await accessibilityViolations(page)).toEqual([]);
    await page.evaluate("document.querySelector('main').scrollTo(0, 0)");
    expect(await page.getByRole('region', { name: 'Readiness checks table' }).locator('tbody').textContent()).toMatch(/up/);
    expect(await page.locator('#admin').textContent()).not.toMatch(/undefined|null/);
    await screenshot(page, 'console-admin.png');
    // Not offered to anyone else, and not shown to them by address either.
    const other = await newPage(harness);
    await signInAsDemoUser(other, 'frank.lee');
    expect(await other.getByRole('link', { name: 'Admin' }).isVisible()).toBe(false);
    await other.goto(`${harness.base}#admin`);
    await other.locator('#workspace').waitFor({ state: 'visible' });
    expect(await other.locator('#admin').isVisible()).toBe(false);
    expectNoScriptErrors(page);
    await page.context().close();
    await other.context().close();
  });
});

describe('keyboard only, and dark mode', () => {
  it('signs in, asks, and approves with the keyboard alone', async () => {
    const page = await newPage(harness, { colorScheme: 'dark' });
    const tabTo = async (matches: string, what: string): Promise<void> => {
      for (let presses = 0; presses < 40; presses += 1) {
        if (await page.evaluate<boolean>(matches)) return;
        await page.keyboard.press('Tab');
      }
      throw new Error(`Tab never reached ${what}`);
    };
    await tabTo("document.activeElement?.id === 'demo-user'", 'the demo user picker');
    await page.keyboard.press('Home');
    await tabTo("document.activeElement?.textContent === 'Sign in as demo user'", 'the demo sign-in button');
    await page.keyboard.press('Enter');
    await page.locator('#whoami-name', { hasText: 'alice.chen' }).waitFor();
    // The question box has the keyboard after signing in.
    expect(await page.evaluate<string | undefined>('document.activeElement?.id')).toBe('query');
    await page.keyboard.type('delete employee E-1044');
    await page.keyboard.press('Control+Enter');
    await lastTurn(page).locator('.confirmation').waitFor();
    await expect.poll(() => page.evaluate<boolean>("document.activeElement?.classList.contains('confirmation') === true")).toBe(true);
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, 'console-dark.png');
    await tabTo("document.activeElement?.textContent === 'Approve'", 'Approve');
    await page.keyboard.press('Enter');
    expect(await waitForDone(page)).toBe('completed');
    // The run over, the keyboard is back in the question box.
    await expect.poll(() => page.evaluate<string | undefined>('document.activeElement?.id')).toBe('query');
    expectNoScriptErrors(page);
    await page.context().close();
  });
});
