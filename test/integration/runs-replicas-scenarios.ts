/**
 * The two-replica run scenarios (issue 5), as one function any store topology can run: two gateways
 * sharing one store, a confirmation inside a run decided on the other replica (approve, reject, a
 * second decision), resuming a stream with Last-Event-ID on another replica without losing or
 * repeating an event, expiry, hand-over on shutdown, and runs whose replica vanished. Called by
 * runs-replicas.test.ts (one Redis) and by the redis-topologies suite (Sentinel, Cluster).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDemoUser } from '../../src/dev/demo-users.js';
import { DECLINED_MESSAGE } from '../../src/runs/agent-loop.js';
import { KEYS } from '../../src/store/records.js';
import { api, startGateway, startTestStack, testConfig, type ConfigOverrides, type RunningGateway, type TestStack } from '../helpers/stack.js';
import { collectRun, openSse, type SseFrame } from '../helpers/sse.js';
import { eventsOf, expectStrictlyIncreasing, readRun, runIdOf, runLog, startRun, type ModelRequestBody } from './runs-support.js';

export interface StoreTopology {
  /** How the describe block names it. */
  readonly name: string;
  /** A store section (the gateway config's `store`) under a key prefix no other test uses. */
  store(name: string): ConfigOverrides['store'];
}

/** What a replica that crashed leaves behind: a running run's state and no lease renewing it. */
function orphanRun(runId: string): string {
  const now = Date.now();
  return JSON.stringify({ id: runId, sub: findDemoUser('alice.chen')!.sub, conversationId: randomUUID(), status: 'running', messages: [], iteration: 0, createdAtMs: now, deadlineAtMs: now + 60_000 });
}

export function defineRunReplicaScenarios(topology: StoreTopology): void {
  describe(`two replicas on ${topology.name}`, () => {
    let stack: TestStack;
    let a: RunningGateway;
    let b: RunningGateway;
    let alice: string;

    beforeAll(async () => {
      stack = await startTestStack();
      const store = topology.store('runs-replicas');
      [a, b] = await Promise.all([startGateway(testConfig(stack, { store })), startGateway(testConfig(stack, { store }))]);
      alice = await stack.issuer.tokenFor('alice.chen');
    });

    afterAll(async () => {
      await Promise.all([a?.close(), b?.close()]);
      await stack?.close();
    });

    const employees = (): string[] => [...stack.servers.hr.controls.data.employees.keys()];
    const untilConfirmation = (frame: SseFrame): boolean => frame.event === 'confirmation_required' || frame.event === 'done';

    /** Starts alice's delete on `gateway` and reads until the run pauses. */
    async function pausedDelete(gateway: RunningGateway, employeeId: string) {
      const connection = await startRun(gateway.url, alice, { query: `delete employee ${employeeId}` });
      const frames = await collectRun(connection, untilConfirmation);
      expect(frames.at(-1)?.event).toBe('confirmation_required');
      return { connection, frames, confirmationId: frames.at(-1)!.data.confirmationId as string, runId: runIdOf(frames) };
    }

    describe('confirmation inside a run, decided on the other replica', () => {
      it('approve on B → the reader on A sees confirmation_resolved, tool_result, the answer and done', async () => {
        const { connection, frames, confirmationId } = await pausedDelete(a, 'E-1042');
        expect(frames.at(-1)?.data).toMatchObject({ server: 'hr', tool: 'delete_employee', arguments: { employeeId: 'E-1042' } });
        expect(frames.at(-2)).toMatchObject({ event: 'tool_call', data: { server: 'hr', tool: 'delete_employee' } });
        expect(employees()).toContain('E-1042');

        const decided = await api(`${b.url}/api/confirmations/${confirmationId}`, { token: alice, body: { decision: 'approve' } });
        expect(decided.status).toBe(200);
        expect(decided.body.status).toBe('approved');

        const rest = await collectRun(connection);
        const events = eventsOf(rest);
        expect(rest[0]).toMatchObject({ event: 'confirmation_resolved', data: { confirmationId, decision: 'approve' } });
        expect(rest.find((frame) => frame.event === 'tool_result')?.data).toMatchObject({ ok: true, isError: false });
        expect(events).toContain('text');
        expect(rest.at(-1)?.data).toEqual({ status: 'completed', stopReason: 'end_turn' });
        expectStrictlyIncreasing([...frames, ...rest]);
        expect(employees()).not.toContain('E-1042');
      });

      it('reject on B → the model is told the user declined, the run completes, nothing is deleted', async () => {
        const { connection, confirmationId } = await pausedDelete(a, 'E-1043');
        const decided = await api(`${b.url}/api/confirmations/${confirmationId}`, { token: alice, body: { decision: 'reject' } });
        expect(decided.status).toBe(200);
        expect(decided.body.status).toBe('rejected');

        const rest = await collectRun(connection);
        expect(rest[0]?.data).toMatchObject({ confirmationId, decision: 'reject' });
        expect(rest.find((frame) => frame.event === 'tool_result')?.data).toMatchObject({ ok: false, isError: true, summary: 'declined by the user' });
        expect(rest.at(-1)?.data.status).toBe('completed');
        const answer = rest.filter((frame) => frame.event === 'text').map((frame) => frame.data.delta as string).join('');
        expect(answer).toMatch(/declined/);

        const lastTurn = (stack.model.requests().at(-1) as ModelRequestBody).messages.at(-1);
        expect(lastTurn).toMatchObject({ role: 'user', content: [{ type: 'tool_result', content: DECLINED_MESSAGE, is_error: true }] });
        expect(employees()).toContain('E-1043');
        expect(stack.servers.hr.controls.toolCallCount('delete_employee')).toBe(1);
      });

      it('a second decision on the same confirmation is refused', async () => {
        const { connection, confirmationId } = await pausedDelete(b, 'E-1044');
        const first = await api(`${a.url}/api/confirmations/${confirmationId}`, { token: alice, body: { decision: 'reject' } });
        const second = await api(`${b.url}/api/confirmations/${confirmationId}`, { token: alice, body: { decision: 'approve' } });
        expect(first.status).toBe(200);
        expect(second.status).toBe(409);
        expect(second.body.error.code).toBe('CONFIRM_5002');
        expect((await collectRun(connection)).at(-1)?.data.status).toBe('completed');
        expect(employees()).toContain('E-1044');
      });
    });

    describe('resume with Last-Event-ID on another replica', () => {
      it('the union of what A sent and what B sends has every event once, in order', async () => {
        const { connection, frames, confirmationId, runId } = await pausedDelete(a, 'E-1045');
        connection.abort();
        // Mid-way: resume from an event in the middle, so B replays some and then continues live.
        const cut = frames.length - 2;
        const seenOnA = frames.slice(0, cut);
        const resumed = await readRun(b.url, alice, runId, seenOnA.at(-1)!.id);
        expect(resumed.status).toBe(200);
        const replayed = await collectRun(resumed, untilConfirmation);
        expect(replayed.map((frame) => frame.id)).toEqual(frames.slice(cut).map((frame) => frame.id));

        // The reader came back within the grace period: the run was not cancelled and goes on.
        const decided = await api(`${a.url}/api/confirmations/${confirmationId}`, { token: alice, body: { decision: 'approve' } });
        expect(decided.status).toBe(200);
        const live = await collectRun(resumed);
        const union = [...seenOnA, ...replayed, ...live];
        expect(union.at(-1)?.data.status).toBe('completed');
        expectStrictlyIncreasing(union);
        const log = await runLog(a.gateway, runId);
        expect(union.map((frame) => [frame.id, frame.event])).toEqual(log.map((event) => [event.id, event.type]));
        expect(employees()).not.toContain('E-1045');
      });

      it('the lastEventId query parameter works like the header', async () => {
        const frames = await collectRun(await startRun(a.url, alice, { query: 'list the support tickets' }));
        const runId = runIdOf(frames);
        const resumed = await collectRun(await openSse(`${b.url}/api/runs/${runId}/events?lastEventId=${frames[2]!.id}`, { token: alice }));
        expect(resumed.map((frame) => frame.id)).toEqual(frames.slice(3).map((frame) => frame.id));
      });
    });

    describe('confirmation expiry', () => {
      let shortLived: RunningGateway;

      beforeAll(async () => {
        shortLived = await startGateway(testConfig(stack, { store: topology.store('runs-expiry'), confirmations: { ttlMs: 400 } }));
      });

      afterAll(async () => {
        await shortLived?.close();
      });

      it('→ confirmation_resolved expired and done expired; nothing deleted', async () => {
        const { connection, confirmationId } = await pausedDelete(shortLived, 'E-1046');
        const rest = await collectRun(connection);
        expect(rest).toMatchObject([
          { event: 'confirmation_resolved', data: { confirmationId, decision: 'expired' } },
          { event: 'done', data: { status: 'expired', stopReason: 'confirmation_expired' } },
        ]);
        const late = await api(`${shortLived.url}/api/confirmations/${confirmationId}`, { token: alice, body: { decision: 'approve' } });
        expect(late.status).toBe(404);
        expect(employees()).toContain('E-1046');
        expect(shortLived.gateway.runs.activeCount).toBe(0);
      });
    });

    describe('a paused run whose gateway shuts down', () => {
      it('is let go, not cancelled: another replica resumes it on a decision', async () => {
        const store = topology.store('runs-handover');
        const leaving = await startGateway(testConfig(stack, { store }));
        const staying = await startGateway(testConfig(stack, { store }));
        try {
          const { connection, frames, confirmationId, runId } = await pausedDelete(leaving, 'E-1047');
          await leaving.close();
          const ended = await collectRun(connection);
          expect(ended.some((frame) => frame.event === 'done')).toBe(false);
          // The stream says why it ends and where to resume (issue 8: shutdown says so).
          expect(ended.at(-1)).toEqual({ id: undefined, event: 'reconnect', data: { runId, lastEventId: frames.at(-1)!.id, retryMs: expect.any(Number), reason: 'shutdown' } });

          const decided = await api(`${staying.url}/api/confirmations/${confirmationId}`, { token: alice, body: { decision: 'reject' } });
          expect(decided.status).toBe(200);
          const resumed = await collectRun(await readRun(staying.url, alice, runId));
          expect(resumed.at(-1)).toMatchObject({ event: 'done', data: { status: 'completed' } });
          expect(employees()).toContain('E-1047');
        } finally {
          await Promise.all([leaving.close(), staying.close()]);
        }
      });

      it('whose confirmation lapses meanwhile is settled as expired by the next reader, on any replica', async () => {
        const store = topology.store('runs-orphan');
        const leaving = await startGateway(testConfig(stack, { store, confirmations: { ttlMs: 300 } }));
        const staying = await startGateway(testConfig(stack, { store }));
        try {
          const { confirmationId, runId } = await pausedDelete(leaving, 'E-1048');
          await leaving.close();
          await new Promise((resolve) => setTimeout(resolve, 400));
          const frames = await collectRun(await readRun(staying.url, alice, runId));
          expect(frames.slice(-2)).toMatchObject([
            { event: 'confirmation_resolved', data: { confirmationId, decision: 'expired' } },
            { event: 'done', data: { status: 'expired', stopReason: 'confirmation_expired' } },
          ]);
          expect(employees()).toContain('E-1048');
        } finally {
          await Promise.all([leaving.close(), staying.close()]);
        }
      });
    });

    describe('a run whose replica vanished without a shutdown', () => {
      // The leftovers are written through the reader's own store: the same keys on any topology.
      it('is ended as failed (GATEWAY_9003) by the next reader, so nobody waits forever', async () => {
        const reader = await startGateway(testConfig(stack, { store: topology.store('runs-lost') }));
        try {
          const runId = randomUUID();
          await reader.gateway.store.set(KEYS.run(runId), orphanRun(runId), { ttlMs: 60_000 });
          const frames = await collectRun(await readRun(reader.url, alice, runId));
          expect(frames.slice(-2)).toMatchObject([
            { event: 'error', data: { code: 'GATEWAY_9003', retryable: true } },
            { event: 'done', data: { status: 'failed', stopReason: 'GATEWAY_9003' } },
          ]);
        } finally {
          await reader.close();
        }
      });

      it('a reader already attached notices the lease lapse and gets error and done within a bounded time', async () => {
        const reader = await startGateway(testConfig(stack, { store: topology.store('runs-lapse'), runs: { leaseTtlMs: 1_500 } }));
        try {
          // A run driven "elsewhere": its lease is alive when the reader attaches, and is never renewed.
          const runId = randomUUID();
          await reader.gateway.store.set(KEYS.runLease(runId), 'gone-replica', { ttlMs: 1_500 });
          await reader.gateway.store.set(KEYS.run(runId), orphanRun(runId), { ttlMs: 60_000 });
          const frames = await collectRun(await readRun(reader.url, alice, runId));
          expect(frames.slice(-2)).toMatchObject([
            { event: 'error', data: { code: 'GATEWAY_9003' } },
            { event: 'done', data: { status: 'failed', stopReason: 'GATEWAY_9003' } },
          ]);
        } finally {
          await reader.close();
        }
      });

      it('a reader whose run vanishes from the store (a Redis restarted empty) gets error and done failed', async () => {
        const reader = await startGateway(testConfig(stack, { store: topology.store('runs-vanish'), runs: { leaseTtlMs: 1_500 } }));
        try {
          const runId = randomUUID();
          await reader.gateway.store.set(KEYS.runLease(runId), 'gone-replica', { ttlMs: 1_000 });
          await reader.gateway.store.set(KEYS.run(runId), orphanRun(runId), { ttlMs: 800 });
          const frames = await collectRun(await readRun(reader.url, alice, runId));
          expect(frames.slice(-2)).toMatchObject([
            { id: undefined, event: 'error', data: { code: 'GATEWAY_9002' } },
            { id: undefined, event: 'done', data: { status: 'failed', stopReason: 'GATEWAY_9002' } },
          ]);
        } finally {
          await reader.close();
        }
      });
    });
  });
}
