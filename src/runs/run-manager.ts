/**
 * Runs across replicas. The replica that starts (or resumes) a run supervises it: it drives the
 * loop, watches its readers and cancels it end to end when the last reader has been gone for
 * `runs.detachGraceMs`, or when someone asks. Readers may be on any replica: they count themselves
 * in the store and announce attach/detach on the run's control channel. A decision on a paused run
 * may arrive at any replica, which takes the run over and tells the previous supervisor to let go.
 */
import { randomUUID } from 'node:crypto';
import type Anthropic from '@anthropic-ai/sdk';
import type { FastifyBaseLogger } from 'fastify';
import type { Identity } from '../auth/identity.js';
import type { GatewayConfig } from '../config/schema.js';
import { GatewayError, toGatewayError } from '../errors.js';
import type { Metrics } from '../ops/metrics.js';
import type { Store } from '../store/types.js';
import type { AgentLoop, LoopOutcome } from './agent-loop.js';
import type { ConfirmationDecision, Confirmations, PendingConfirmation } from './confirmations.js';
import type { Conversations } from './conversations.js';
import type { RunState, RunStore } from './run-store.js';

type ControlMessage = 'attach' | 'detach' | 'cancel' | 'handoff';

const controlChannel = (runId: string): string => `run-ctl:${runId}`;
const readersKey = (runId: string): string => `run-readers:${runId}`;
const leaseKey = (runId: string): string => `run-lease:${runId}`;
/**
 * The supervising replica renews a lease while it drives a run. A running run without a lease lost
 * its replica (a crash, not a graceful shutdown, which ends or releases its runs): readers settle it.
 */
const LEASE_TTL_MS = 15_000;
const LEASE_RENEW_MS = 5_000;

/** What this replica holds for a run it supervises; everything here is released by dispose(). */
class Supervision {
  readonly controller = new AbortController();
  graceTimer: NodeJS.Timeout | undefined;
  expiryTimer: NodeJS.Timeout | undefined;
  leaseTimer: NodeJS.Timeout | undefined;
  unsubscribe: (() => Promise<void>) | undefined;
  /** Settles when the loop stops driving (finished, paused or aborted). */
  driving: Promise<void> = Promise.resolve();
  /** Set once this replica no longer supervises the run, so late timers do nothing. */
  released = false;

  constructor(
    readonly runId: string,
    readonly identity: Identity,
  ) {}

  dispose(): void {
    this.released = true;
    clearTimeout(this.graceTimer);
    clearTimeout(this.expiryTimer);
    clearInterval(this.leaseTimer);
    this.graceTimer = undefined;
    this.expiryTimer = undefined;
    this.leaseTimer = undefined;
    void this.unsubscribe?.().catch(() => undefined);
    this.unsubscribe = undefined;
  }
}

export interface RunManagerDependencies {
  store: Store;
  runs: RunStore;
  loop: AgentLoop;
  confirmations: Confirmations;
  conversations: Conversations;
  config: GatewayConfig;
  metrics: Metrics;
  log: FastifyBaseLogger;
}

export class RunManager {
  private readonly supervised = new Map<string, Supervision>();
  private acceptingRuns = true;
  /** Tags this replica's control messages, so it ignores its own echoes. */
  private readonly replicaId = randomUUID();

  constructor(private readonly deps: RunManagerDependencies) {}

  get activeCount(): number {
    return this.supervised.size;
  }

  /** Creates a run, logs its first event before the model is called, and starts driving it. */
  async start(identity: Identity, query: string, conversationId: string | undefined, unavailable: string[], servers: string[]): Promise<RunState> {
    if (!this.acceptingRuns) throw new GatewayError('GATEWAY_9001');
    const conversation = await this.deps.conversations.open(identity.sub, conversationId);
    const now = Date.now();
    const state: RunState = {
      id: randomUUID(),
      sub: identity.sub,
      conversationId: conversation.id,
      status: 'running',
      messages: [...conversation.messages, { role: 'user', content: query } satisfies Anthropic.MessageParam],
      iteration: 0,
      createdAtMs: now,
      deadlineAtMs: now + this.deps.config.limits.runDeadlineMs,
    };
    // The lease exists before the run does, so no reader ever sees a running run without one.
    await this.renewLease(state.id);
    await this.deps.runs.save(state);
    await this.deps.loop.emit(state.id, { type: 'run', data: { runId: state.id, conversationId: state.conversationId, servers, unavailable } });
    for (const server of unavailable) {
      await this.deps.loop.emit(state.id, { type: 'warning', data: { code: 'SERVER_UNAVAILABLE', message: `${server} is unavailable; its tools are left out of this run` } });
    }
    const supervision = await this.supervise(state.id, identity);
    this.drive(supervision, state, (signal) => this.deps.loop.drive(state, identity, signal));
    return state;
  }

  /** The run's state if the caller owns it; 404 otherwise (ids leak nothing). */
  async ownedRun(identity: Identity, runId: string): Promise<RunState> {
    const state = await this.deps.runs.load(runId);
    if (state === undefined || state.sub !== identity.sub) throw new GatewayError('RUN_6001');
    return state;
  }

  /**
   * The caller's run, ready to be read. A pause whose confirmation lapsed while no replica supervised
   * it (its supervisor stopped) is settled here as expired, so a returning reader never waits forever.
   */
  async openForReading(identity: Identity, runId: string): Promise<RunState> {
    const state = await this.ownedRun(identity, runId);
    if (state.status === 'running' && !this.supervised.has(runId) && (await this.leaseLapsed(runId))) {
      // Several readers may find it at once: one of them settles it.
      const settles = await this.deps.store.set(`run-settled:${runId}`, this.replicaId, { onlyIfAbsent: true, ttlMs: LEASE_TTL_MS });
      if (settles) {
        this.deps.log.warn({ runId }, 'run lost its replica; ending it as failed');
        await this.deps.loop.fail(state, new GatewayError('GATEWAY_9003'));
      }
      return state;
    }
    const paused = state.paused;
    if (state.status === 'awaiting_confirmation' && paused !== undefined && Date.parse(paused.expiresAt) <= Date.now() && !this.supervised.has(runId)) {
      if (await this.deps.confirmations.withdraw(paused.confirmationId)) {
        await this.deps.loop.emit(state.id, { type: 'confirmation_resolved', data: { confirmationId: paused.confirmationId, decision: 'expired' } });
        await this.deps.loop.finish(state, 'expired', 'confirmation_expired');
      }
    }
    return state;
  }

  /** True only when the store says the lease is gone; an unreachable store never condemns a run. */
  private async leaseLapsed(runId: string): Promise<boolean> {
    try {
      return (await this.deps.store.get(leaseKey(runId))) === null;
    } catch {
      return false;
    }
  }

  /** A reader (an SSE stream on any replica) attaches; returns its detach function. */
  async attachReader(runId: string): Promise<() => Promise<void>> {
    await this.deps.store.incr(readersKey(runId), { by: 1, ttlMs: this.deps.config.runs.ttlMs }).catch(() => 0);
    this.onControl(runId, 'attach');
    await this.announce(runId, 'attach');
    let detached = false;
    return async () => {
      if (detached) return;
      detached = true;
      await this.deps.store.incr(readersKey(runId), { by: -1, ttlMs: this.deps.config.runs.ttlMs }).catch(() => 0);
      this.onControl(runId, 'detach');
      await this.announce(runId, 'detach');
    };
  }

  /** Explicit cancellation (DELETE /api/runs/:id), from any replica. */
  async cancel(identity: Identity, runId: string): Promise<void> {
    const state = await this.ownedRun(identity, runId);
    if (state.status !== 'running' && state.status !== 'awaiting_confirmation') throw new GatewayError('RUN_6002');
    if (this.supervised.has(runId)) {
      await this.cancelSupervised(runId, 'cancelled by the user');
      return;
    }
    await this.announce(runId, 'cancel');
    // A paused run whose supervisor is gone (or elsewhere and slow) is cancelled right here.
    if (state.status === 'awaiting_confirmation') await this.cancelPaused(state, 'cancelled by the user');
  }

  /** A human decided a confirmation that pauses a run: this replica takes the run over and resumes it. */
  async decide(identity: Identity, pending: PendingConfirmation, decision: ConfirmationDecision): Promise<{ status: string; runId: string }> {
    const state = await this.ownedRun(identity, pending.runId ?? '');
    const paused = state.paused;
    if (state.status !== 'awaiting_confirmation' || paused?.confirmationId !== pending.id) throw new GatewayError('RUN_6002');
    await this.announce(state.id, 'handoff');
    this.release(state.id);
    const supervision = await this.supervise(state.id, identity);
    this.drive(supervision, state, async (signal) => {
      const { loop } = this.deps;
      await loop.emit(state.id, { type: 'confirmation_resolved', data: { confirmationId: pending.id, decision } });
      let result: Anthropic.ToolResultBlockParam;
      if (decision === 'approve') {
        // Roles may have changed while the run waited: authorise again with the approver's token.
        const visible = await this.deps.loop.visibleFor(identity, pending.server, pending.tool);
        result = await loop.callTool(state, identity, paused.toolUse, visible, signal, pending.id);
      } else {
        result = loop.declined(paused.toolUse);
        await loop.emit(state.id, { type: 'tool_result', data: { callId: paused.toolUse.id, ok: false, isError: true, durationMs: 0, truncated: false, summary: 'declined by the user' } });
      }
      const visibleNow = this.deps.loop.visibleTools(identity);
      const outcome = await loop.runToolUses(state, identity, paused.remaining, [...paused.results, result], visibleNow, signal);
      return outcome ?? loop.drive(state, identity, signal);
    });
    return { status: decision === 'approve' ? 'approved' : 'rejected', runId: state.id };
  }

  /**
   * Graceful shutdown: no new runs; running ones get `graceMs` to finish, then are cancelled. Runs
   * paused for a confirmation are only let go: their state is in the store, so a decision on any other
   * replica resumes them, and a lapsed one is settled by the next reader (openForReading).
   */
  async shutdown(graceMs: number): Promise<void> {
    this.acceptingRuns = false;
    const driving = [...this.supervised.values()].map((supervision) => supervision.driving);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(driving), new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    await Promise.all(
      [...this.supervised.keys()].map(async (runId) => {
        const state = await this.deps.runs.load(runId).catch(() => undefined);
        if (state?.status === 'awaiting_confirmation') this.release(runId);
        else await this.cancelSupervised(runId, 'gateway shutting down');
      }),
    );
  }

  private async renewLease(runId: string): Promise<void> {
    await this.deps.store.set(leaseKey(runId), this.replicaId, { ttlMs: LEASE_TTL_MS }).catch((error: unknown) => {
      this.deps.log.warn({ runId, err: error }, 'run lease not renewed');
    });
  }

  private async supervise(runId: string, identity: Identity): Promise<Supervision> {
    const supervision = new Supervision(runId, identity);
    this.supervised.set(runId, supervision);
    this.deps.metrics.runsActive.set(this.supervised.size);
    await this.renewLease(runId);
    supervision.leaseTimer = setInterval(() => void this.renewLease(runId), LEASE_RENEW_MS);
    supervision.leaseTimer.unref();
    try {
      supervision.unsubscribe = await this.deps.store.subscribe(controlChannel(runId), (message) => {
        const [kind, origin] = message.split(':');
        if (origin !== this.replicaId) this.onControl(runId, kind as ControlMessage, true);
      });
    } catch (error) {
      // Without the channel this replica still sees its own readers and cancellations.
      this.deps.log.warn({ runId, err: error }, 'run control channel unavailable');
    }
    return supervision;
  }

  private drive(supervision: Supervision, state: RunState, body: (signal: AbortSignal) => Promise<LoopOutcome>): void {
    const { signal } = supervision.controller;
    supervision.driving = body(signal)
      .then((outcome) => {
        if (outcome.kind === 'paused') this.armExpiry(supervision, outcome.confirmationId, outcome.expiresAt);
        else this.release(state.id, supervision);
      })
      .catch(async (error: unknown) => {
        if (signal.aborted) {
          const reason = signal.reason instanceof Error ? signal.reason.message : 'cancelled';
          await this.deps.loop.finish(state, 'cancelled', reason).catch((failure: unknown) => this.deps.log.warn({ err: failure, runId: state.id }, 'could not log cancellation'));
        } else {
          const failure = toGatewayError(error);
          if (failure.status >= 500 && !failure.code.startsWith('CLAUDE_')) this.deps.log.error({ err: error, runId: state.id }, 'run failed');
          await this.deps.loop.fail(state, failure).catch((logError: unknown) => this.deps.log.warn({ err: logError, runId: state.id }, 'could not log failure'));
        }
        this.release(state.id, supervision);
      });
  }

  private async announce(runId: string, message: ControlMessage): Promise<void> {
    await this.deps.store.publish(controlChannel(runId), `${message}:${this.replicaId}`).catch((error: unknown) => {
      this.deps.log.warn({ runId, message, err: error }, 'run control message not delivered');
    });
  }

  private armExpiry(supervision: Supervision, confirmationId: string, expiresAt: string): void {
    if (supervision.released) return;
    supervision.expiryTimer = setTimeout(() => {
      void (async () => {
        // Whoever takes the confirmation first wins: a decision, or this expiry.
        if (supervision.released || !(await this.deps.confirmations.withdraw(confirmationId))) return;
        const state = await this.deps.runs.load(supervision.runId);
        if (state === undefined) return;
        await this.deps.loop.emit(state.id, { type: 'confirmation_resolved', data: { confirmationId, decision: 'expired' } });
        await this.deps.loop.finish(state, 'expired', 'confirmation_expired');
        this.release(state.id, supervision);
      })().catch((error: unknown) => this.deps.log.warn({ err: error, runId: supervision.runId }, 'confirmation expiry failed'));
    }, Math.max(0, Date.parse(expiresAt) - Date.now()));
  }

  private onControl(runId: string, message: ControlMessage, remote = false): void {
    const supervision = this.supervised.get(runId);
    if (supervision === undefined) return;
    if (message === 'cancel') void this.cancelSupervised(runId, 'cancelled by the user');
    else if (message === 'handoff' && remote) this.release(runId, supervision);
    else if (message === 'attach') {
      clearTimeout(supervision.graceTimer);
      supervision.graceTimer = undefined;
    } else if (message === 'detach') this.armGrace(supervision);
  }

  /** After the last reader leaves, wait the grace period; if nobody came back, cancel the run. */
  private armGrace(supervision: Supervision): void {
    clearTimeout(supervision.graceTimer);
    supervision.graceTimer = setTimeout(() => {
      supervision.graceTimer = undefined;
      void this.readerCount(supervision.runId).then((readers) => {
        if (readers <= 0 && !supervision.released) return this.cancelSupervised(supervision.runId, 'all readers left');
        return undefined;
      });
    }, this.deps.config.runs.detachGraceMs);
  }

  private async readerCount(runId: string): Promise<number> {
    const raw = await this.deps.store.get(readersKey(runId)).catch(() => null);
    // If the store cannot say, assume someone is still reading: never cancel on an outage.
    return raw === null ? (this.deps.store.kind === 'memory' ? 0 : 1) : Number(raw);
  }

  private async cancelSupervised(runId: string, reason: string): Promise<void> {
    const supervision = this.supervised.get(runId);
    if (supervision === undefined) return;
    const state = await this.deps.runs.load(runId);
    if (state?.status === 'awaiting_confirmation' && !supervision.controller.signal.aborted) {
      // A paused run has no loop to abort: withdraw its confirmation and end it here.
      this.release(runId, supervision);
      await this.cancelPaused(state, reason);
      return;
    }
    supervision.controller.abort(new Error(reason));
    await supervision.driving;
  }

  private async cancelPaused(state: RunState, reason: string): Promise<void> {
    const confirmationId = state.paused?.confirmationId;
    if (confirmationId !== undefined && !(await this.deps.confirmations.withdraw(confirmationId))) return;
    if (confirmationId !== undefined) {
      await this.deps.loop.emit(state.id, { type: 'confirmation_resolved', data: { confirmationId, decision: 'withdrawn' } });
    }
    await this.deps.loop.finish(state, 'cancelled', reason);
  }

  private release(runId: string, supervision = this.supervised.get(runId)): void {
    if (supervision === undefined) return;
    supervision.dispose();
    if (this.supervised.get(runId) === supervision) this.supervised.delete(runId);
    this.deps.metrics.runsActive.set(this.supervised.size);
  }
}
