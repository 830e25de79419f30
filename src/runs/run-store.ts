/**
 * Where runs live: their state (so any replica can resume a paused run) and their append-only event
 * log (so any replica can serve a reader from a Last-Event-ID). Both expire after `runs.ttlMs`.
 * Their wire format (keys, record schemas, versions) is in store/records.ts.
 */
import type Anthropic from '@anthropic-ai/sdk';
import { silentLogger, type StoreLogger } from '../store/logger.js';
import { decodeRecord, encodeRecord, KEYS, runLogEntrySchema, runRecordSchema, type RunRecord } from '../store/records.js';
import type { StreamEntry, Store } from '../store/types.js';
import { RecencyCap, type CapOptions } from '../util/recency-cap.js';
import { RUN_EVENT_TYPES, type LoggedRunEvent, type RunEvent } from './events.js';

export interface PendingToolUse {
  id: string;
  name: string;
  input: Record<string, unknown>;
}

export interface PausedTurn {
  confirmationId: string;
  /** When the confirmation lapses; any replica may settle an overdue pause (its supervisor may be gone). */
  expiresAt: string;
  /** The tool call waiting for a human. */
  toolUse: PendingToolUse;
  /** Calls of the same model turn still to run after this one. */
  remaining: PendingToolUse[];
  /** Results of the turn's calls already run. */
  results: Anthropic.ToolResultBlockParam[];
}

/** A run's state: the stored record (see records.ts) without its version. */
export type RunState = Omit<RunRecord, 'v'>;

const MAX_LOG_ENTRIES = 20_000;

const FINISHED: ReadonlySet<RunState['status']> = new Set(['completed', 'failed', 'cancelled', 'expired']);

/** What a finished run keeps: no messages (the conversation holds them) and no pause; a reader needs only owner and status. */
function compact(state: RunState): RunState {
  if (!FINISHED.has(state.status)) return state;
  const { paused: _paused, messages: _messages, ...kept } = state;
  return { ...kept, messages: [] };
}

export class RunStore {
  /** Finished runs held by an in-process store, oldest finished first (runs.maxFinishedRuns). */
  private readonly finished: RecencyCap | undefined;

  constructor(
    private readonly store: Store,
    private readonly ttlMs: number,
    private readonly log: StoreLogger = silentLogger,
    cap?: CapOptions,
  ) {
    this.finished = cap === undefined || store.kind !== 'memory' ? undefined : new RecencyCap(cap, ttlMs);
  }

  /** The write of the state as it is now (a journal runs it later, so the record is taken at once). */
  snapshot(state: RunState): () => Promise<void> {
    const record = encodeRecord(compact(state));
    const finished = FINISHED.has(state.status);
    return async () => {
      await this.store.set(KEYS.run(state.id), record, { ttlMs: this.ttlMs });
      if (finished) this.heldFinished(state.id);
    };
  }

  async save(state: RunState): Promise<void> {
    await this.snapshot(state)();
  }

  /** The run's state; undefined when it is gone (expired, evicted, lost with a Redis that did not persist) or unreadable. */
  async load(id: string): Promise<RunState | undefined> {
    return decodeRecord(runRecordSchema, await this.store.get(KEYS.run(id)), KEYS.run(id), this.log);
  }

  /** Appends one event; with `id` (chosen by the driving replica) the append is idempotent, see Store.append. */
  async append(runId: string, event: RunEvent, id?: string): Promise<string> {
    return this.store.append(KEYS.runLog(runId), encodeRecord(event), { ttlMs: this.ttlMs, maxLen: MAX_LOG_ENTRIES, ...(id === undefined ? {} : { id }) });
  }

  /** Appends logged events under their ids in one round trip (idempotent like append with an id). */
  async appendMany(runId: string, events: readonly LoggedRunEvent[]): Promise<void> {
    const entries = events.map(({ id, ...event }) => ({ id, data: encodeRecord(event) }));
    await this.store.appendMany(KEYS.runLog(runId), entries, { ttlMs: this.ttlMs, maxLen: MAX_LOG_ENTRIES });
  }

  /** Counts a finished run against the cap (in-process store only) and deletes the oldest beyond it. */
  private heldFinished(runId: string): void {
    for (const evicted of this.finished?.touch(runId) ?? []) this.evict(evicted);
  }

  private evict(runId: string): void {
    for (const key of [KEYS.run(runId), KEYS.runLog(runId), KEYS.runReaders(runId), KEYS.runLease(runId), KEYS.runSettled(runId)]) {
      void this.store.del(key).catch((error: unknown) => this.log.warn({ runId, err: error }, 'evicting a finished run failed'));
    }
  }

  /** The id of the log's last event, undefined when the log is empty or gone. */
  lastEventId(runId: string): Promise<string | undefined> {
    return this.store.lastEntryId(KEYS.runLog(runId));
  }

  /** The raw log tail (entries not parsed yet; see decode). */
  tail(runId: string, afterId: string, signal: AbortSignal, pollMs?: number, onIdle?: () => Promise<void>): AsyncIterable<StreamEntry> {
    return this.store.tail(KEYS.runLog(runId), afterId, { signal, ...(pollMs === undefined ? {} : { pollMs }), ...(onIdle === undefined ? {} : { onIdle }) });
  }

  async events(runId: string, afterId = '0'): Promise<LoggedRunEvent[]> {
    const entries = await this.store.readAfter(KEYS.runLog(runId), afterId);
    return entries.flatMap((entry) => this.decode(runId, entry) ?? []);
  }

  /** One log entry as an event; undefined (logged) for one that does not parse, so a reader skips it. */
  decode(runId: string, entry: StreamEntry): LoggedRunEvent | undefined {
    const record = decodeRecord(runLogEntrySchema, entry.data, `${KEYS.runLog(runId)} ${entry.id}`, this.log);
    if (record === undefined || !(RUN_EVENT_TYPES as readonly string[]).includes(record.type)) return undefined;
    return { ...(record as RunEvent), id: entry.id };
  }
}
