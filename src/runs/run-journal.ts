/**
 * The driving replica's side of a run's event log: events reach this replica's readers at once and
 * are written to the store in order behind them, so a store outage does not stop a run.
 *
 * Event ids. The driving replica assigns each event's id itself (`<ms>-<seq>`, strictly above the
 * previous one, from the log's last id when it took the run over) and the store appends it under
 * exactly that id (XADD with an explicit id). So:
 * - a reader here gets an event live, with the id it will have in the log, before the store holds
 *   it; resuming anywhere with that Last-Event-ID reads the log strictly after it, which is where
 *   the rest will be once written: nothing missed, nothing repeated;
 * - writes are idempotent: re-appending an id already in the log writes nothing (a retry after a
 *   reply lost in an outage cannot duplicate an event), and the buffered events go in once, in order;
 * - an id the log has already passed without holding it means another replica wrote to the run
 *   meanwhile (it found the lease lapsed and settled the run): this replica stops driving it.
 * Writes that are not events (the run's state, the conversation) go through the same queue, so the
 * store never holds a state newer than the events before it.
 *
 * Bounded: at most `runs.outageBufferEvents` events wait for the store, and a run keeps going
 * without the store for at most `runs.leaseTtlMs` (after that other replicas may take its lease as
 * lapsed). Beyond either, the run ends with `error` GATEWAY_9002 and `done failed`: at once for the
 * readers here, and in the log as soon as the store takes them.
 */
import type { GatewayError} from '../errors.js';
import { storeUnavailable } from '../errors.js';
import type { Metrics } from '../ops/metrics.js';
import { isStoreUnavailable, StreamIdConflictError } from '../store/errors.js';
import type { StoreLogger } from '../store/logger.js';
import { compareStreamIds, formatStreamId, nextStreamId, parseStreamId, type StreamId } from '../store/stream-id.js';
import type { LoggedRunEvent, RunEvent } from './events.js';
import type { RunState, RunStore } from './run-store.js';

type QueueItem = { kind: 'event'; event: LoggedRunEvent } | { kind: 'write'; write: () => Promise<void> };

export interface JournalOptions {
  bufferEvents: number;
  maxOutageMs: number;
  /**
   * How long a text delta may wait to be written together with the ones after it (0: written like
   * any event). Readers on this replica get it at once either way; the run's first event never waits.
   */
  batchMs: number;
}

/** Events written in one round trip at most; also the text deltas held before the model is made to wait for the store. */
const MAX_BATCH = 256;

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 1_000;

export class RunJournal {
  private last: StreamId;
  private readonly queue: QueueItem[] = [];
  private queuedEvents = 0;
  /** Recent events for readers on this replica: everything after `baseId` (bounded like the queue). */
  private readonly recent: LoggedRunEvent[] = [];
  /** The ids of `recent`, parsed once. */
  private readonly recentIds: StreamId[] = [];
  private baseId: StreamId;
  private readonly listeners = new Set<() => void>();
  private draining: Promise<void> | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  /** Events this journal has logged (the first one is never held back for a batch). */
  private logged = 0;
  private outageSince: number | undefined;
  private outageBegan: { promise: Promise<void>; resolve: () => void } = deferred();
  private failure: GatewayError | undefined;
  private open = true;
  /** Called once when the journal gives up on the run (the supervisor aborts its loop). */
  onFailure: ((error: GatewayError) => void) | undefined;

  constructor(
    readonly runId: string,
    lastId: string | undefined,
    private readonly runs: RunStore,
    private readonly options: JournalOptions,
    private readonly metrics: Metrics,
    private readonly log: StoreLogger,
  ) {
    this.last = parseStreamId(lastId ?? '0-0');
    this.baseId = this.last;
  }

  get failed(): GatewayError | undefined {
    return this.failure;
  }

  get isOpen(): boolean {
    return this.open;
  }

  get lastId(): string {
    return formatStreamId(this.last);
  }

  /** Whether every event after `afterId` is held here (a reader here can follow the run from memory). */
  covers(afterId: string): boolean {
    return compareStreamIds(parseStreamId(afterId), this.baseId) >= 0;
  }

  /** Takes the run again (a decision resumed it on this replica): the ids go on from where they were. */
  reopen(): void {
    this.open = true;
  }

  /** No more events from this supervision; what is queued is still written. */
  close(): void {
    this.open = false;
    this.notify();
    if (this.queue.length > 0) void this.drain();
  }

  /** True once everything queued is in the store (or can never be). */
  get drained(): boolean {
    return this.queue.length === 0 || (this.failure !== undefined && this.draining === undefined);
  }

  /**
   * Logs one event: delivered here at once, written to the store in order. While the store answers
   * this waits for the write (back-pressure on a fast model); during an outage it returns at once.
   */
  async emit(event: RunEvent): Promise<string> {
    if (this.failure !== undefined) throw this.failure;
    if (this.queuedEvents >= this.options.bufferEvents) {
      const overflow = storeUnavailable(new Error(`more than ${this.options.bufferEvents} events waiting for the store`));
      this.fail(overflow, 'buffer full');
      throw overflow;
    }
    if (event.type === 'text' && this.options.batchMs > 0 && this.logged > 0 && this.queuedEvents < MAX_BATCH) return this.pushBatched(event);
    return this.push(event);
  }

  /**
   * A text delta: given to readers here at once, written within `batchMs` together with whatever
   * follows (one round trip for many deltas). The next event that is not a delta writes it at once.
   */
  private pushBatched(event: RunEvent): Promise<string> {
    const logged = this.enqueue(event);
    if (this.draining === undefined) this.flushTimer ??= setTimeout(() => void this.drain(), this.options.batchMs);
    return Promise.resolve(logged.id);
  }

  /** Queues a store write that must land after the events before it (state, conversation). */
  async write(write: () => Promise<void>): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    this.queue.push({ kind: 'write', write });
    await this.settle();
  }

  saveState(state: RunState): Promise<void> {
    return this.write(this.runs.snapshot(state));
  }

  /** Waits until everything queued is in the store; throws GATEWAY_9002 when that cannot happen in time. */
  async durable(): Promise<void> {
    while (this.queue.length > 0 && this.failure === undefined) await this.drain();
    if (this.failure !== undefined) throw this.failure;
  }

  /**
   * Events after `afterId` as they are logged, until the journal is closed and all were given, or
   * `afterId` falls out of memory (then the caller reads the store). Ends after `done`.
   */
  async *follow(afterId: string, signal: AbortSignal): AsyncGenerator<LoggedRunEvent> {
    let after = parseStreamId(afterId);
    while (!signal.aborted) {
      if (compareStreamIds(after, this.baseId) < 0) return;
      let woken = false;
      const wake = (): void => {
        woken = true;
      };
      this.listeners.add(wake);
      try {
        const next = this.recent.slice(this.firstAfter(after));
        for (const event of next) {
          yield event;
          after = parseStreamId(event.id);
          if (event.type === 'done' || signal.aborted) return;
        }
        if (next.length === 0) {
          if (!this.open) return;
          if (!woken) await this.waitForEvent(signal);
        }
      } finally {
        this.listeners.delete(wake);
      }
    }
  }

  /**
   * Ends the run from here: the readers of this replica get `error` and `done failed` at once; the
   * log gets them too unless another writer owns it now. The journal takes no more events.
   */
  fail(error: GatewayError, why: string): void {
    if (this.failure !== undefined) return;
    const conflict = error.cause instanceof StreamIdConflictError;
    this.log.warn({ runId: this.runId, why }, 'run cannot continue without the store; ending it as failed');
    this.metrics.runLogFailures.inc({ reason: conflict ? 'conflict' : why === 'buffer full' ? 'buffer_full' : 'outage' });
    if (conflict) this.dropQueue();
    void this.push({ type: 'error', data: error.toObject(this.runId) }, true);
    void this.push({ type: 'done', data: { status: 'failed', stopReason: error.code } }, true);
    this.failure = error;
    this.open = false;
    this.notify();
    this.onFailure?.(error);
  }

  private enqueue(event: RunEvent): LoggedRunEvent {
    this.last = nextStreamId(this.last, Date.now());
    const logged = { ...event, id: formatStreamId(this.last) };
    this.logged += 1;
    this.remember(logged);
    this.queue.push({ kind: 'event', event: logged });
    this.queuedEvents += 1;
    this.metrics.runLogBuffered.inc();
    return logged;
  }

  private push(event: RunEvent, final = false): Promise<string> {
    const logged = this.enqueue(event);
    if (final) {
      void this.drain();
      return Promise.resolve(logged.id);
    }
    return this.settle().then(() => logged.id);
  }

  /** Waits for the queue while the store answers; returns as soon as an outage begins. */
  private async settle(): Promise<void> {
    if (this.outageSince !== undefined) {
      void this.drain();
      return;
    }
    await Promise.race([this.drain(), this.outageBegan.promise]);
    if (this.failure !== undefined) throw this.failure;
  }

  private remember(event: LoggedRunEvent): void {
    this.recent.push(event);
    this.recentIds.push(this.last);
    if (this.recent.length > this.options.bufferEvents) {
      this.recent.shift();
      const dropped = this.recentIds.shift();
      if (dropped !== undefined) this.baseId = dropped;
    }
    this.notify();
  }

  /** Index of the first recent event after `after`: scanned from the end, since a follower is almost always near it. */
  private firstAfter(after: StreamId): number {
    let index = this.recent.length;
    while (index > 0 && compareStreamIds(this.recentIds[index - 1]!, after) > 0) index -= 1;
    return index;
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  private waitForEvent(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.listeners.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.listeners.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private drain(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.draining ??= this.writeQueue().finally(() => {
      this.draining = undefined;
      // A delta queued as the last write finished found a drain still in flight and armed no timer.
      if (this.queue.length > 0) this.flushTimer ??= setTimeout(() => void this.drain(), this.options.batchMs);
    });
    return this.draining;
  }

  private async writeQueue(): Promise<void> {
    let delayMs = RETRY_MIN_MS;
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      // Consecutive events go in one round trip: those queued while the previous write was in flight, or held for a batch.
      const events: LoggedRunEvent[] = [];
      for (const item of this.queue) {
        if (item.kind !== 'event' || events.length === MAX_BATCH) break;
        events.push(item.event);
      }
      try {
        if (head.kind === 'event') await this.runs.appendMany(this.runId, events);
        else await head.write();
        this.dequeue(head.kind === 'event' ? events.length : 1);
        if (this.outageSince !== undefined) this.endOutage();
        delayMs = RETRY_MIN_MS;
      } catch (error) {
        if (error instanceof StreamIdConflictError) {
          this.fail(storeUnavailable(error), 'another replica wrote to the run');
          this.dropQueue();
          return;
        }
        if (!isStoreUnavailable(error)) {
          // Not an outage: a bug. Skip the write rather than retrying it forever, and say so.
          this.log.warn({ runId: this.runId, err: error }, 'run log write failed; skipped');
          this.dequeue(head.kind === 'event' ? events.length : 1);
          continue;
        }
        this.beginOutage();
        const outageMs = Date.now() - (this.outageSince ?? Date.now());
        // Keep trying to deliver the failure to the log for as long again, then give up on this run.
        if (this.failure !== undefined && outageMs > 2 * this.options.maxOutageMs) {
          this.dropQueue();
          return;
        }
        if (this.failure === undefined && outageMs > this.options.maxOutageMs) this.fail(storeUnavailable(error), 'store unreachable too long');
        await sleep(delayMs);
        delayMs = Math.min(RETRY_MAX_MS, delayMs * 2);
      }
    }
  }

  /** Removes the `count` items just written (or skipped) from the head of the queue. */
  private dequeue(count: number): void {
    const events = this.queue.splice(0, count).filter((item) => item.kind === 'event').length;
    this.queuedEvents -= events;
    this.metrics.runLogBuffered.dec(events);
  }

  private beginOutage(): void {
    if (this.outageSince !== undefined) return;
    this.outageSince = Date.now();
    this.outageBegan.resolve();
  }

  private endOutage(): void {
    this.outageSince = undefined;
    this.outageBegan = deferred();
  }

  private dropQueue(): void {
    this.metrics.runLogBuffered.dec(this.queuedEvents);
    this.queue.length = 0;
    this.queuedEvents = 0;
  }
}

/** The journals of the runs this replica drives (and of those it finished but has not written out yet). */
export class RunJournals {
  private readonly journals = new Map<string, RunJournal>();

  constructor(
    private readonly runs: RunStore,
    private readonly options: JournalOptions,
    private readonly metrics: Metrics,
    private readonly log: StoreLogger,
  ) {}

  get(runId: string): RunJournal | undefined {
    return this.journals.get(runId);
  }

  /** The run's journal for a new supervision here: the existing one reopened, else one continuing the log's ids. */
  async open(runId: string, fresh: boolean): Promise<RunJournal> {
    const existing = this.journals.get(runId);
    if (existing !== undefined && existing.failed === undefined) {
      existing.reopen();
      return existing;
    }
    const lastId = fresh ? undefined : await this.runs.lastEventId(runId);
    const journal = new RunJournal(runId, lastId, this.runs, this.options, this.metrics, this.log);
    this.journals.set(runId, journal);
    return journal;
  }

  /** The supervision ended: no more events; forgotten once written out. */
  close(runId: string): void {
    const journal = this.journals.get(runId);
    if (journal === undefined) return;
    journal.close();
    void this.forgetWhenDrained(journal);
  }

  /** An event for a run: through its journal when this replica drives it, else straight to the store. */
  emit(runId: string, event: RunEvent): Promise<string> {
    const journal = this.openJournal(runId);
    return journal === undefined ? this.runs.append(runId, event) : journal.emit(event);
  }

  saveState(state: RunState): Promise<void> {
    const journal = this.openJournal(state.id);
    return journal === undefined ? this.runs.save(state) : journal.saveState(state);
  }

  write(runId: string, write: () => Promise<void>): Promise<void> {
    const journal = this.openJournal(runId);
    return journal === undefined ? write() : journal.write(write);
  }

  async durable(runId: string): Promise<void> {
    await this.openJournal(runId)?.durable();
  }

  /** Shutdown: waits (bounded) until every journal has written out what it holds. */
  async drainAll(boundMs: number): Promise<void> {
    const deadline = Date.now() + boundMs;
    while ([...this.journals.values()].some((journal) => !journal.drained) && Date.now() < deadline) await sleep(50);
  }

  private openJournal(runId: string): RunJournal | undefined {
    const journal = this.journals.get(runId);
    return journal?.isOpen === true || journal?.failed !== undefined ? journal : undefined;
  }

  private async forgetWhenDrained(journal: RunJournal): Promise<void> {
    while (!journal.drained && !journal.isOpen) await sleep(200);
    if (!journal.isOpen && this.journals.get(journal.runId) === journal) this.journals.delete(journal.runId);
  }
}

/** Retries an operation while the store is unreachable, for at most `boundMs`; other failures pass at once. */
export async function whileUnavailable<T>(operation: () => Promise<T>, boundMs: number): Promise<T> {
  const deadline = Date.now() + boundMs;
  let delayMs = RETRY_MIN_MS;
  for (;;) {
    try {
      return await operation();
    } catch (error) {
      if (!isStoreUnavailable(error) || Date.now() + delayMs > deadline) throw error;
      await sleep(delayMs);
      delayMs = Math.min(RETRY_MAX_MS, delayMs * 2);
    }
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((settle) => (resolve = settle));
  return { promise, resolve };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
