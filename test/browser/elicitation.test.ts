/**
 * A tool server's question during an agent run, in the console (issue 10, item 4): the card shows the
 * server's message and a form generated from its schema (defaults filled in), the person's answer
 * goes back to the server, and the card shows the outcome. The upstream is the conformance fixture.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConformanceFixture, type ConformanceFixture } from '../conformance/fixture-server.js';
import { accessibilityViolations, ask, expectNoScriptErrors, lastTurn, newPage, signInAsDemoUser, startHarness, waitForDone, type Harness } from './harness.js';

let fixture: ConformanceFixture;
let harness: Harness;

beforeAll(async () => {
  fixture = await startConformanceFixture();
  harness = await startHarness({ config: { servers: { fx: { url: fixture.url, description: 'Conformance fixture', roles: ['employee'] } } } });
});

afterAll(async () => {
  await harness?.close();
  await fixture?.close();
});

describe('a question from a tool during a run', () => {
  it('is a card with a form from its schema; the answer reaches the tool and the card shows it was answered', async () => {
    const page = await newPage(harness);
    await signInAsDemoUser(page, 'alice.chen');
    await ask(page, 'run the fx test elicitation defaults');
    const card = lastTurn(page).locator('.elicitation');
    await card.waitFor();
    expect(await card.locator('.elicitation-message').textContent()).toBe('Please review and update the form fields with defaults');
    await lastTurn(page).locator('.turn-status', { hasText: 'Waiting for your answer' }).waitFor();
    // Every primitive type, with the server's defaults.
    expect(await card.getByLabel('name').inputValue()).toBe('John Doe');
    expect(await card.getByLabel('age').inputValue()).toBe('30');
    expect(await card.getByLabel('score').inputValue()).toBe('95.5');
    expect(await card.getByLabel('status').inputValue()).toBe('active');
    expect(await card.getByLabel('verified').isChecked()).toBe(true);
    expect(await accessibilityViolations(page)).toEqual([]);

    await card.getByLabel('name').fill('Ann Lee');
    await card.getByLabel('age').fill('41');
    await card.getByLabel('status').selectOption('pending');
    await card.getByLabel('verified').uncheck();
    await card.getByRole('button', { name: 'Send answer' }).click();
    await expect.poll(() => card.locator('.confirmation-outcome').textContent(), { timeout: 15_000 }).toBe('Answered');
    expect(await card.locator('form').count()).toBe(0);
    expect(await waitForDone(page)).toBe('completed');
    const summary = await lastTurn(page).locator('.tool-call .tool-summary').first().textContent();
    expect(summary).toContain('action=accept');
    expect(summary).toContain('"name":"Ann Lee","age":41,"score":95.5,"status":"pending","verified":false');
    expectNoScriptErrors(page);
    await page.context().close();
  });
});
