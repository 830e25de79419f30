/**
 * Runs across replicas. The replica that starts (or resumes) a run supervises it: it drives the
 * loop, writes its log through a journal (run-journal.ts: readers here get events at once, the store
 * gets them in order, and a store outage does not stop the run), watches its readers and cancels a
 * running model turn end to end when the last reader has been gone for `runs.detachGraceMs`, or when
 * someone asks; a run paused for a confirmation waits for its decision or expiry with or without
 * readers. Readers may be on any replica: they count themselves in the store and announce
 * attach/detach on the run's control channel. A decision on a paused run may arrive at any replica,
 * which takes the run over and tells the previous supervisor to let go. No reader waits on a run
 * nobody drives: an idle reader checks the run's lease and settles a run whose replica is gone.
 */
import { randomUUID } from 'node:crypto';
import type Anthropic from '@anthropic-ai/sdk';
import type { FastifyBaseLogger } from 'fastify';
import type { Identity } from '../auth/identity.js';
import type { GatewayConfig } from '../config/schema.js';
import { GatewayError, storeUnavailable, toGatewayError } from '../errors.js';
import type { Metrics } from '../ops/metrics.js';
import { isStoreUnavailable } from '../store/errors.js';
import { CHANNELS, decodeControl, encodeControl, KEYS, type ControlKind } from '../store/records.js';
import type { Store } from '../store/types.js';
import type { AgentLoop, LoopOutcome } from './agent-loop.js';
import type { ConfirmationDecision, Confirmations, PendingConfirmation } from '../gate/confirmations.js';
import type { Conversations } from './conversations.js';
import type { LoggedRunEvent, RunEvent } from './events.js';
import type { RunJournal, RunJournals } from './run-journal.js';
import type { RunState, RunStore } from './run-store.js';

type ControlMessage = ControlKind;

const controlChannel = CHANNELS.runControl;
const readersKey = KEYS.runReaders;
const leaseKey = KEYS.runLease;

/** What a reader is given: logged events (with their id), and final events of the stream itself (no id, not in the log). */
export type ReadEvent = LoggedRunEvent | (RunEvent & { id?: undefined });

/** Ends a reader's tail with final events of its own (the run vanished, the store stayed away). */
class ReaderEnd extends Error {
  constructor(readonly events: RunEvent[]) {
    super('reader ends');
  }
}

const READ_RETRY_MIN_MS = 200;
const READ_RETRY_MAX_MS = 2_000;

/** What this replica holds for a run it supervises; everything here is released by dispose(). */
class Supervision {
  readonly controller = new AbortController();
  graceTimer: NodeJS.Timeout | undefined;
  /** True while the run waits for a confirmation: readers leaving does not cancel it. */
  paused = false;
  /** The run's state as this replica drives it (the store's copy may be lost in an outage). */
  state: RunState | undefined;
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
    readonly journal: RunJournal,
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
  journals: RunJournals;
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

  private readonly leaseTtlMs: number;
  /**
   * Leases idle readers found held lately, by run, oldest first: all readers of a run on this
   * replica share one lease read per renewal period instead of one each.
   */
  private readonly leasesSeen = new Map<string, number>();
  /** Lease reads in flight, by run, shared by the readers that ask meanwhile. */
  private readonly leaseProbes = new Map<string, Promise<boolean>>();

  private readonly stopWatch: () => void;

  constructor(private readonly deps: RunManagerDependencies) {
    this.leaseTtlMs = deps.config.runs.leaseTtlMs;
    this.stopWatch = deps.store.onConnectionChange((connected) => {
      if (connected) void this.checkPausedAfterOutage();
    });
  }

  /**
   * After a store outage: a paused run whose confirmation the store no longer holds (Redis restarted
   * without its data) can never be decided. It ends now with GATEWAY_9002 rather than waiting out
   * its expiry with readers attached.
   */
  private async checkPausedAfterOutage(): Promise<void> {
    for (const supervision of [...this.supervised.values()]) {
      const state = supervision.state;
      const confirmationId = state?.paused?.confirmationId;
      if (!supervision.paused || state === undefined || confirmationId === undefined) continue;
      try {
        if (await this.deps.confirmations.exists(confirmationId)) continue;
        if (!supervision.paused || supervision.released) continue;
        this.deps.log.warn({ runId: state.id }, 'the store lost the confirmation this run waits for; ending it as failed');
        this.release(state.id, supervision);
        await this.deps.journals.open(state.id, false).then(async () => {
          await this.deps.loop.fail(state, storeUnavailable(new Error('confirmation lost by the store')));
          this.deps.journals.close(state.id);
        });
      } catch (error) {
        this.deps.log.warn({ runId: state.id, err: error }, 'could not check a paused run after the outage');
      }
    }
  }

  /** How often a lease is renewed, and how often an idle reader checks that its run is still driven. */
  private get renewMs(): number {
    return Math.floor(this.leaseTtlMs / 3);
  }

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
    // The lease exists before the run does, so no reader ever sees a running run without one. Both
    // must reach the store (a run nobody can find is worse than a 503 the client retries).
    await this.deps.store.set(leaseKey(state.id), this.replicaId, { ttlMs: this.leaseTtlMs });
    await this.deps.runs.save(state);
    const supervision = await this.supervise(state.id, identity, true);
    await this.deps.loop.emit(state.id, { type: 'run', data: { runId: state.id, conversationId: state.conversationId, servers, unavailable } });
    for (const server of unavailable) {
      await this.deps.loop.emit(state.id, { type: 'warning', data: { code: 'SERVER_UNAVAILABLE', message: `${server} is unavailable; its tools are left out of this run` } });
    }
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
    await this.settleIfAbandoned(state);
    return state;
  }

  /**
   * Ends a run nobody drives any more, from any replica: a running run whose lease lapsed (its
   * replica vanished) as failed, a pause whose confirmation lapsed while unsupervised as expired.
   * Several readers may find it at once: one of them settles it. Returns whether it was abandoned.
   */
  private async settleIfAbandoned(state: RunState): Promise<boolean> {
    const runId = state.id;
    if (this.supervised.has(runId)) return false;
    if (state.status === 'running' && (await this.leaseLapsed(runId))) {
      const settles = await this.deps.store.set(KEYS.runSettled(runId), this.replicaId, { onlyIfAbsent: true, ttlMs: this.leaseTtlMs });
      if (settles) {
        this.deps.log.warn({ runId }, 'run lost its replica; ending it as failed');
        await this.deps.loop.fail(state, new GatewayError('GATEWAY_9003'));
      }
      return true;
    }
    const paused = state.paused;
    if (state.status === 'awaiting_confirmation' && paused !== undefined && Date.parse(paused.expiresAt) <= Date.now()) {
      if (await this.deps.confirmations.withdraw(paused.confirmationId)) {
        await this.deps.loop.emit(state.id, { type: 'confirmation_resolved', data: { confirmationId: paused.confirmationId, decision: 'expired' } });
        await this.deps.loop.finish(state, 'expired', 'confirmation_expired');
      }
      return true;
    }
    return false;
  }

  /**
   * A reader's view of a run, from `afterId`: from this replica's journal where it drives the run
   * (live, also while the store is down), else from the store's log. It ends after `done`; or with
   * final events of its own when the store stays unreachable for a lease period (`error` 9002, the
   * client resumes later with Last-Event-ID) or the run vanished from the store (`error`, `done failed`).
   */
  async *read(runId: string, afterId: string, signal: AbortSignal): AsyncGenerator<ReadEvent> {
    let after = afterId;
    let outageSince: number | undefined;
    let retryMs = READ_RETRY_MIN_MS;
    const liveness = { missingSince: undefined as number | undefined, finishedChecks: 0 };
    /** A journal followed to its close is not followed again (its remaining events are in the store, or on their way). */
    let followed: RunJournal | undefined;
    while (!signal.aborted) {
      const journal = this.deps.journals.get(runId);
      if (journal !== undefined && (journal.isOpen || journal !== followed) && journal.covers(after)) {
        followed = journal;
        for await (const event of journal.follow(after, signal)) {
          yield event;
          after = event.id;
          if (event.type === 'done') return;
        }
        continue;
      }
      try {
        for await (const entry of this.deps.runs.tail(runId, after, signal, this.renewMs, () => this.checkDriven(runId, after, liveness))) {
          outageSince = undefined;
          after = entry.id;
          const event = this.deps.runs.decode(runId, entry);
          if (event === undefined) continue;
          yield event;
          if (event.type === 'done') return;
        }
        return;
      } catch (error) {
        if (error instanceof ReaderEnd) {
          for (const event of error.events) yield event;
          return;
        }
        if (!isStoreUnavailable(error)) throw error;
        // This replica may have taken the run meanwhile: its journal serves the reader through the outage.
        const driving = this.deps.journals.get(runId);
        if (driving?.isOpen === true && driving.covers(after)) continue;
        outageSince ??= Date.now();
        if (Date.now() - outageSince > this.leaseTtlMs) {
          yield { type: 'error', data: storeUnavailable(error).toObject(runId) };
          return;
        }
        await abortableSleep(retryMs, signal);
        retryMs = Math.min(READ_RETRY_MAX_MS, retryMs * 2);
      }
    }
  }

  /**
   * An idle reader's check that someone still drives its run (called when nothing was logged for a
   * renewal period). A lapsed lease or an overdue pause is settled into the log, which the tail
   * then reads; a run gone from the store on two checks (a Redis restarted without its data) ends
   * the reader with `error` and `done failed`. An unreachable store decides nothing here.
   */
  private async checkDriven(runId: string, after: string, liveness: { missingSince: number | undefined; finishedChecks: number }): Promise<void> {
    if (this.deps.journals.get(runId)?.isOpen === true) return;
    let state: RunState | undefined;
    try {
      if (await this.leaseHeldLately(runId)) {
        liveness.missingSince = undefined;
        return;
      }
      state = await this.deps.runs.load(runId);
      if (state !== undefined && (await this.settleIfAbandoned(state))) return;
    } catch (error) {
      if (isStoreUnavailable(error)) return;
      throw error;
    }
    if (state === undefined) {
      const now = Date.now();
      liveness.missingSince ??= now;
      // Longer than a renewal: a replica still driving it would have written its lease back by now.
      if (now - liveness.missingSince <= this.renewMs) return;
      this.deps.log.warn({ runId }, 'run vanished from the store; ending its reader');
      const lost = storeUnavailable(new Error('run record missing'));
      throw new ReaderEnd([
        { type: 'error', data: { ...lost.toObject(runId), message: 'The run is no longer in the state store; ask again' } },
        { type: 'done', data: { status: 'failed', stopReason: lost.code } },
      ]);
    }
    liveness.missingSince = undefined;
    if (state.status === 'running' || state.status === 'awaiting_confirmation') return;
    // Finished, yet nothing after `after` came: its `done` is behind the reader or was lost with the log.
    liveness.finishedChecks += 1;
    if (liveness.finishedChecks < 2) return;
    const last = await this.deps.runs.lastEventId(runId).catch(() => undefined);
    this.deps.log.info({ runId, after, last }, 'finished run without a done after the reader position; ending the reader');
    throw new ReaderEnd([{ type: 'done', data: { status: state.status, stopReason: null } }]);
  }

  /** Whether the run's lease was held within the last renewal period (read from the store at most once per period). */
  private async leaseHeldLately(runId: string): Promise<boolean> {
    const now = Date.now();
    for (const [id, seenAt] of this.leasesSeen) {
      if (seenAt + this.renewMs > now) break;
      this.leasesSeen.delete(id);
    }
    if (this.leasesSeen.has(runId)) return true;
    let probe = this.leaseProbes.get(runId);
    if (probe === undefined) {
      probe = this.deps.store
        .get(leaseKey(runId))
        .then((holder) => {
          if (holder !== null) this.leasesSeen.set(runId, Date.now());
          return holder !== null;
        })
        .finally(() => this.leaseProbes.delete(runId));
      this.leaseProbes.set(runId, probe);
    }
    return probe;
  }

  /** Whether a finished run has nothing after `afterId` (a reader there gets the end of the stream at once). */
  async finishedBefore(state: RunState, afterId: string): Promise<boolean> {
    if (state.status === 'running' || state.status === 'awaiting_confirmation') return false;
    if (this.deps.journals.get(state.id) !== undefined) return false;
    return (await this.deps.store.readAfter(KEYS.runLog(state.id), afterId, 1)).length === 0;
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
    const supervision = await this.supervise(state.id, identity, false);
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
    this.stopWatch();
    const driving = [...this.supervised.values()].map((supervision) => supervision.driving);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(driving), new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    await Promise.all(
      [...this.supervised.values()].map(async (supervision) => {
        if (supervision.paused) this.release(supervision.runId, supervision);
        else await this.cancelSupervised(supervision.runId, 'gateway shutting down');
      }),
    );
    // What the journals still hold (a run's last events, written behind its readers) goes to the store before the process does.
    await this.deps.journals.drainAll(Math.max(1_000, Math.min(graceMs, this.leaseTtlMs)));
  }

  private async renewLease(runId: string): Promise<void> {
    // During an outage this fails quietly (the store logged the outage once); the run goes on.
    await this.deps.store.set(leaseKey(runId), this.replicaId, { ttlMs: this.leaseTtlMs }).catch((error: unknown) => {
      if (!isStoreUnavailable(error)) this.deps.log.warn({ runId, err: error }, 'run lease not renewed');
    });
  }

  private async supervise(runId: string, identity: Identity, fresh: boolean): Promise<Supervision> {
    const journal = await this.deps.journals.open(runId, fresh);
    const supervision = new Supervision(runId, identity, journal);
    journal.onFailure = (error) => supervision.controller.abort(error);
    this.supervised.set(runId, supervision);
    this.deps.metrics.runsActive.set(this.supervised.size);
    await this.renewLease(runId);
    supervision.leaseTimer = setInterval(() => void this.renewLease(runId), this.renewMs);
    supervision.leaseTimer.unref();
    try {
      supervision.unsubscribe = await this.deps.store.subscribe(controlChannel(runId), (raw) => {
        const message = decodeControl(raw);
        if (message !== undefined && message.origin !== this.replicaId) this.onControl(runId, message.kind, true);
      });
    } catch (error) {
      // Without the channel this replica still sees its own readers and cancellations.
      this.deps.log.warn({ runId, err: error }, 'run control channel unavailable');
    }
    return supervision;
  }

  private drive(supervision: Supervision, state: RunState, body: (signal: AbortSignal) => Promise<LoopOutcome>): void {
    const { signal } = supervision.controller;
    supervision.paused = false;
    supervision.state = state;
    supervision.driving = body(signal)
      .then((outcome) => {
        if (outcome.kind === 'paused') {
          supervision.paused = true;
          this.armExpiry(supervision, outcome.confirmationId, outcome.expiresAt);
        } else this.release(state.id, supervision);
      })
      .catch(async (error: unknown) => {
        if (supervision.journal.failed !== undefined) {
          // The journal already ended the run (error and done failed) for every reader it can reach.
        } else if (signal.aborted) {
          const reason = signal.reason instanceof Error ? signal.reason.message : 'cancelled';
          await this.deps.loop.finish(state, 'cancelled', reason).catch((failure: unknown) => this.deps.log.warn({ err: failure, runId: state.id }, 'could not log cancellation'));
        } else {
          const failure = toGatewayError(error);
          if (failure.status >= 500 && !failure.code.startsWith('CLAUDE_') && !isStoreUnavailable(error)) this.deps.log.error({ err: error, runId: state.id }, 'run failed');
          await this.deps.loop.fail(state, failure).catch((logError: unknown) => this.deps.log.warn({ err: logError, runId: state.id }, 'could not log failure'));
        }
        this.release(state.id, supervision);
      });
  }

  private async announce(runId: string, message: ControlMessage): Promise<void> {
    await this.deps.store.publish(controlChannel(runId), encodeControl({ kind: message, origin: this.replicaId })).catch((error: unknown) => {
      if (!isStoreUnavailable(error)) this.deps.log.warn({ runId, message, err: error }, 'run control message not delivered');
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

  /**
   * After the last reader leaves, wait the grace period; if nobody came back, cancel the running
   * model turn. A run paused for a confirmation costs nothing while it waits: it stays until its
   * decision or expiry, and a returning reader sees the confirmation again.
   */
  private armGrace(supervision: Supervision): void {
    clearTimeout(supervision.graceTimer);
    supervision.graceTimer = setTimeout(() => {
      supervision.graceTimer = undefined;
      void this.readerCount(supervision.runId).then((readers) => {
        if (readers <= 0 && !supervision.released && !supervision.paused) return this.cancelSupervised(supervision.runId, 'all readers left');
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
    if (supervision.paused && !supervision.controller.signal.aborted) {
      // A paused run has no loop to abort: withdraw its confirmation and end it here.
      const state = await this.deps.runs.load(runId);
      if (state?.status !== 'awaiting_confirmation') return;
      await this.cancelPaused(state, reason);
      this.release(runId, supervision);
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
    if (this.supervised.get(runId) === supervision) {
      this.supervised.delete(runId);
      this.deps.journals.close(runId);
    }
    this.deps.metrics.runsActive.set(this.supervised.size);
  }
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
