/**
 * Where runs live: their state (so any replica can resume a paused run) and their append-only event
 * log (so any replica can serve a reader from a Last-Event-ID). Both expire after `runs.ttlMs`.
 */
import type Anthropic from '@anthropic-ai/sdk';
import type { Store } from '../store/types.js';
import type { LoggedRunEvent, RunEvent, RunStatus } from './events.js';

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

export interface RunState {
  id: string;
  sub: string;
  conversationId: string;
  status: 'running' | 'awaiting_confirmation' | RunStatus;
  /** The whole exchange sent to the model, earlier conversation turns included. */
  messages: Anthropic.MessageParam[];
  iteration: number;
  createdAtMs: number;
  deadlineAtMs: number;
  paused?: PausedTurn | undefined;
}

const stateKey = (id: string): string => `run:${id}`;
const logKey = (id: string): string => `run-log:${id}`;
const MAX_LOG_ENTRIES = 20_000;

export class RunStore {
  constructor(
    private readonly store: Store,
    private readonly ttlMs: number,
  ) {}

  async save(state: RunState): Promise<void> {
    await this.store.set(stateKey(state.id), JSON.stringify(state), { ttlMs: this.ttlMs });
  }

  async load(id: string): Promise<RunState | undefined> {
    const raw = await this.store.get(stateKey(id));
    return raw === null ? undefined : (JSON.parse(raw) as RunState);
  }

  async append(runId: string, event: RunEvent): Promise<string> {
    return this.store.append(logKey(runId), JSON.stringify(event), { ttlMs: this.ttlMs, maxLen: MAX_LOG_ENTRIES });
  }

  async *tail(runId: string, afterId: string, signal: AbortSignal): AsyncGenerator<LoggedRunEvent> {
    for await (const entry of this.store.tail(logKey(runId), afterId, { signal })) {
      yield { ...(JSON.parse(entry.data) as RunEvent), id: entry.id };
    }
  }

  async events(runId: string, afterId = '0'): Promise<LoggedRunEvent[]> {
    const entries = await this.store.readAfter(logKey(runId), afterId);
    return entries.map((entry) => ({ ...(JSON.parse(entry.data) as RunEvent), id: entry.id }));
  }
}
