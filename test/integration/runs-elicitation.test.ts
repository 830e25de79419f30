/**
 * What a tool server asks back during an agent run's tool call (issue 10, item 4): an elicitation
 * becomes a run event its owner answers through the API on any replica (accept with checked content,
 * decline, cancel; anyone else gets 404; no answer in time tells the server `cancel`), and a sampling
 * request is served by the gateway's model under the owner's token budget, or refused per config.
 * Real components: the dev issuer, the conformance fixture (both eras, and 2025-era only) as the
 * upstream, the simulated model, two gateways on one Redis.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_CLIENT_ID, startDevIssuer, type DevIssuer } from '../../src/dev/dev-issuer.js';
import { startSimulatedAnthropic, type SimulatedAnthropicHandle } from '../../src/dev/sim-anthropic/index.js';
import { findDemoUser } from '../../src/dev/demo-users.js';
import type { StoredAuditRecord } from '../../src/ops/audit.js';
import { KEYS } from '../../src/store/records.js';
import { startConformanceFixture, type ConformanceFixture } from '../conformance/fixture-server.js';
import { collectRun, type SseConnection, type SseFrame } from '../helpers/sse.js';
import { api, issuerOnlyConfig, redisStore, startGateway, waitFor, type ConfigOverrides, type RunningGateway } from '../helpers/stack.js';
import { metricValue, runIdOf, startRun } from './runs-support.js';

let issuer: DevIssuer;
let model: SimulatedAnthropicHandle;
let modern: ConformanceFixture;
let legacy: ConformanceFixture;
/** a and b: replicas on one Redis, sampling on; c: alone, sampling off, a short elicitation timeout. */
let a: RunningGateway;
let b: RunningGateway;
let c: RunningGateway;
let alice: string;
let frank: string;
let admin: string;

function config(overrides: ConfigOverrides) {
  const base: ConfigOverrides = {
    servers: {
      fx: { url: modern.url, description: 'Conformance fixture, both eras', roles: ['employee'] },
      // A short call deadline: a person answering takes longer, and must not be cut off by it.
      old: { url: legacy.url, description: 'Conformance fixture, 2025 era only', roles: ['employee'], timeoutMs: 1_000 },
    },
    llm: { apiKey: 'sim-key', baseURL: model.url },
    limits: {
      // alice (hr-write) has room; frank's day is spent by his run's first model turn.
      tiers: [
        { name: 'roomy', roles: ['hr-write'], queriesPerHour: 1000, requestsPerMinute: 1000, tokensPerDay: 1_000_000 },
        { name: 'default', roles: [], queriesPerHour: 1000, requestsPerMinute: 1000, tokensPerDay: 1 },
      ],
    },
  };
  return issuerOnlyConfig(issuer, base, overrides);
}

beforeAll(async () => {
  [issuer, model, modern, legacy] = await Promise.all([
    startDevIssuer({ clientId: DEV_CLIENT_ID }),
    startSimulatedAnthropic({ firstTokenMs: 0, tokenDelayMs: 0 }),
    startConformanceFixture(),
    startConformanceFixture({ eras: 'legacy' }),
  ]);
  const store = redisStore('runs-elicitation');
  const sampling = { runs: { sampling: { enabled: true, maxTokens: 64 } } };
  [a, b, c] = await Promise.all([
    startGateway(config({ store, ...sampling })),
    startGateway(config({ store, ...sampling })),
    startGateway(config({ runs: { elicitation: { timeoutMs: 300 } } })),
  ]);
  [alice, frank, admin] = await Promise.all([issuer.tokenFor('alice.chen'), issuer.tokenFor('frank.lee'), issuer.tokenFor('ops.admin')]);
});

afterAll(async () => {
  await Promise.all([a?.close(), b?.close(), c?.close()]);
  await Promise.all([issuer?.close(), model?.close(), modern?.close(), legacy?.close()]);
});

const untilElicitation = (frame: SseFrame): boolean => frame.event === 'elicitation_required' || frame.event === 'done';

/** Starts a run that calls `server`'s test_elicitation, and reads until it asks. */
async function askingRun(gateway: RunningGateway, token: string, server = 'fx'): Promise<{ connection: SseConnection; runId: string; elicitationId: string; asked: SseFrame }> {
  const connection = await startRun(gateway.url, token, { query: `run the ${server} test elicitation with message "Who are you?"` });
  expect(connection.status).toBe(200);
  const frames = await collectRun(connection, untilElicitation);
  const asked = frames.at(-1)!;
  expect(asked.event, JSON.stringify(frames.map((frame): unknown[] => [frame.event, frame.data]))).toBe('elicitation_required');
  return { connection, runId: runIdOf(frames), elicitationId: asked.data.elicitationId as string, asked };
}

function answer(gateway: RunningGateway, token: string, runId: string, elicitationId: string, body: unknown) {
  return api(`${gateway.url}/api/runs/${runId}/elicitations/${elicitationId}`, { token, body });
}

/** alice's recent audit records, through the admin API. */
async function auditOf(gateway: RunningGateway): Promise<StoredAuditRecord[]> {
  return (await api(`${gateway.url}/api/admin/audit?user=alice.chen`, { token: admin })).body.records as StoredAuditRecord[];
}

/** Model tokens the user spent today, as the budget counts them. */
async function spentToday(gateway: RunningGateway, username: string): Promise<number> {
  return Number(await gateway.gateway.store.get(KEYS.tokens(findDemoUser(username)!.sub, new Date().toISOString().slice(0, 10))));
}

function toolResult(frames: readonly SseFrame[]): string {
  return String(frames.find((frame) => frame.event === 'tool_result')?.data.summary ?? '');
}

describe('elicitation in a run', () => {
  it('is a run event with the message and the form; accept answered on the other replica reaches the server', async () => {
    const { connection, runId, elicitationId, asked } = await askingRun(a, alice);
    expect(asked.data).toMatchObject({
      server: 'fx',
      tool: 'test_elicitation',
      message: 'Who are you?',
      requestedSchema: { type: 'object', properties: { username: { type: 'string' }, email: { type: 'string' } }, required: ['username', 'email'] },
    });
    const answered = await answer(b, alice, runId, elicitationId, { action: 'accept', content: { username: 'alice', email: 'alice@example.com' } });
    expect(answered.status).toBe(200);
    expect(answered.body).toEqual({ elicitationId, action: 'accept' });
    const rest = await collectRun(connection);
    expect(rest[0]).toMatchObject({ event: 'elicitation_resolved', data: { elicitationId, outcome: 'accept' } });
    expect(toolResult(rest)).toContain('action=accept');
    expect(toolResult(rest)).toContain('alice@example.com');
    expect(rest.at(-1)?.data).toMatchObject({ status: 'completed' });
    expect(await metricValue(a.gateway.metrics.runUpstreamRequests, { kind: 'elicitation', outcome: 'accept' })).toBeGreaterThan(0);
    // Single use: a second answer learns it was answered.
    expect((await answer(b, alice, runId, elicitationId, { action: 'decline' })).body.error.code).toBe('RUN_6006');
  });

  it('reaches a 2025-era server (a real request on its stream); decline goes back as decline', async () => {
    const { connection, runId, elicitationId } = await askingRun(a, alice, 'old');
    expect((await answer(a, alice, runId, elicitationId, { action: 'decline' })).status).toBe(200);
    const rest = await collectRun(connection);
    expect(rest[0]).toMatchObject({ event: 'elicitation_resolved', data: { outcome: 'decline' } });
    expect(toolResult(rest)).toContain('action=decline');
  });

  it("the call's deadline stops while the person answers", async () => {
    const { connection, runId, elicitationId } = await askingRun(a, alice, 'old');
    // Longer than the server's 1 s call deadline.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect((await answer(b, alice, runId, elicitationId, { action: 'accept', content: { username: 'alice', email: 'alice@example.com' } })).status).toBe(200);
    const rest = await collectRun(connection);
    expect(rest.find((frame) => frame.event === 'tool_result')?.data).toMatchObject({ ok: true });
    expect(toolResult(rest)).toContain('action=accept');
  });

  it('cancel goes back as cancel; it is audited with the field names only', async () => {
    const { connection, runId, elicitationId } = await askingRun(b, alice);
    expect((await answer(a, alice, runId, elicitationId, { action: 'cancel' })).status).toBe(200);
    const rest = await collectRun(connection);
    expect(rest[0]).toMatchObject({ event: 'elicitation_resolved', data: { outcome: 'cancel' } });
    expect(toolResult(rest)).toContain('action=cancel');
    await waitFor(async () => (await auditOf(a)).some((record) => record.event === 'elicitation' && record.runId === runId && record.outcome === 'cancel'), { what: 'the audit record' });
  });

  it('only its owner may answer: anyone else gets 404 as for an unknown question; bad content gets 400 and the question stays open', async () => {
    const { connection, runId, elicitationId } = await askingRun(a, alice);
    const stranger = await answer(b, frank, runId, elicitationId, { action: 'accept', content: { username: 'frank', email: 'f@example.com' } });
    expect(stranger.status).toBe(404);
    expect(stranger.body.error.code).toBe('RUN_6004');
    const unknown = await answer(b, alice, runId, '00000000-0000-4000-8000-000000000000', { action: 'decline' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('RUN_6004');

    const missing = await answer(b, alice, runId, elicitationId, { action: 'accept', content: { username: 'alice' } });
    expect(missing.status).toBe(400);
    expect(missing.body.error.code).toBe('RUN_6005');
    const extra = await answer(b, alice, runId, elicitationId, { action: 'accept', content: { username: 'alice', email: 'a@example.com', admin: true } });
    expect(extra.body.error.code).toBe('RUN_6005');
    const wrongType = await answer(b, alice, runId, elicitationId, { action: 'accept', content: { username: 7, email: 'a@example.com' } });
    expect(wrongType.body.error.code).toBe('RUN_6005');
    expect((await answer(b, alice, runId, elicitationId, { action: 'decline', content: {} })).body.error.code).toBe('RUN_6005');
    expect((await answer(b, alice, runId, elicitationId, { action: 'maybe' })).status).toBe(400);

    expect((await answer(a, alice, runId, elicitationId, { action: 'accept', content: { username: 'alice', email: 'alice@example.com' } })).status).toBe(200);
    const rest = await collectRun(connection);
    expect(toolResult(rest)).toContain('action=accept');
  });

  it('a run whose replica stopped takes no answer', async () => {
    const { connection, runId, elicitationId } = await askingRun(a, alice);
    // What a crashed replica leaves: its lease gone (this one renews it within a third of runs.leaseTtlMs).
    await a.gateway.store.del(KEYS.runLease(runId));
    expect((await answer(b, alice, runId, elicitationId, { action: 'decline' })).body.error.code).toBe('RUN_6004');
    await waitFor(async () => (await a.gateway.store.get(KEYS.runLease(runId))) !== null, { timeoutMs: 20_000, what: 'the lease renewed' });
    expect((await answer(b, alice, runId, elicitationId, { action: 'decline' })).status).toBe(200);
    expect((await collectRun(connection))[0]).toMatchObject({ event: 'elicitation_resolved', data: { outcome: 'decline' } });
  });

  it('no answer in time: the server gets cancel and the run goes on', async () => {
    const { connection, runId, elicitationId } = await askingRun(c, alice);
    const rest = await collectRun(connection);
    expect(rest[0]).toMatchObject({ event: 'elicitation_resolved', data: { elicitationId, outcome: 'expired' } });
    expect(toolResult(rest)).toContain('action=cancel');
    expect(rest.at(-1)?.data).toMatchObject({ status: 'completed' });
    expect((await answer(c, alice, runId, elicitationId, { action: 'decline' })).status).toBe(404);
  });

  it('cancelling the run withdraws the question', async () => {
    const { connection, runId, elicitationId } = await askingRun(a, alice);
    expect((await api(`${b.url}/api/runs/${runId}`, { token: alice, method: 'DELETE' })).status).toBe(202);
    const rest = await collectRun(connection);
    expect(rest.map((frame) => frame.event)).toContain('elicitation_resolved');
    expect(rest.find((frame) => frame.event === 'elicitation_resolved')?.data).toEqual({ elicitationId, outcome: 'withdrawn' });
    expect(rest.at(-1)?.data).toMatchObject({ status: 'cancelled' });
    expect((await answer(a, alice, runId, elicitationId, { action: 'decline' })).status).toBe(404);
  });

  it('a REST tool call has no person to ask: the server is refused (-32601) and its call fails', async () => {
    const result = await api(`${c.url}/api/tools/old/test_elicitation`, { token: alice, body: { arguments: { message: 'Who are you?' } } });
    expect(result.body.result).toMatchObject({ isError: true });
    expect(JSON.stringify(result.body)).toContain('elicitation/create is not available here');
  });
});

describe('sampling in a run', () => {
  it("is served by the gateway's model, capped, counted against the owner's budget and audited", async () => {
    const before = model.stats.requests;
    const spentBefore = await spentToday(a, 'alice.chen');
    const connection = await startRun(a.url, alice, { query: 'run the fx test sampling with prompt "Say hello"' });
    const frames = await collectRun(connection);
    const turns = frames.filter((frame) => frame.event === 'usage').reduce((sum, frame) => sum + Number(frame.data.inputTokens) + Number(frame.data.outputTokens) + Number(frame.data.cacheCreationTokens), 0);
    const sampled = frames.find((frame) => frame.event === 'sampling');
    expect(sampled?.data).toMatchObject({ server: 'fx', tool: 'test_sampling', outcome: 'served' });
    expect(sampled?.data.inputTokens).toBeGreaterThan(0);
    expect(toolResult(frames)).toContain('LLM response:');
    expect((await spentToday(a, 'alice.chen')) - spentBefore).toBe(turns + sampled?.data.inputTokens + sampled?.data.outputTokens);
    // The run's two turns and the sampling request between them: the server's prompt, without tools, its 100 tokens capped at 64.
    const requests = model.requests().slice(-3) as Array<{ max_tokens: number; tools?: unknown[]; messages: Array<{ content: unknown }> }>;
    expect(model.stats.requests - before).toBe(3);
    expect(requests[1]).toMatchObject({ max_tokens: 64, messages: [{ role: 'user', content: [{ type: 'text', text: 'Say hello' }] }] });
    expect(requests[1]?.tools).toBeUndefined();
    const runId = runIdOf(frames);
    await waitFor(async () => (await auditOf(a)).some((record) => record.event === 'sampling' && record.runId === runId && record.outcome === 'served'), { what: 'the audit record' });
  });

  it('is refused when the owner has spent the day\'s budget', async () => {
    const connection = await startRun(b.url, frank, { query: 'run the fx test sampling with prompt "Say hello"' });
    const frames = await collectRun(connection);
    expect(frames.find((frame) => frame.event === 'sampling')?.data).toMatchObject({ outcome: 'refused', reason: 'budget', inputTokens: 0, outputTokens: 0 });
    expect(frames.find((frame) => frame.event === 'tool_result')?.data.isError).toBe(true);
  });

  it('is refused with -32601 where the config does not enable it (the default)', async () => {
    const connection = await startRun(c.url, alice, { query: 'run the old test sampling with prompt "Say hello"' });
    const frames = await collectRun(connection);
    expect(frames.find((frame) => frame.event === 'sampling')?.data).toMatchObject({ outcome: 'refused', reason: 'disabled' });
    expect(toolResult(frames)).toContain('Sampling is not enabled');
    expect(await metricValue(c.gateway.metrics.runUpstreamRequests, { kind: 'sampling', outcome: 'refused' })).toBe(1);
  });
});
