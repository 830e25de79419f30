/**
 * Conversations give follow-up questions the earlier turns, and give people their history back after a
 * reload or on another device. Each belongs to one user and expires; anyone else asking for it is told
 * it does not exist. A per-user index (members expiring with their conversation) lists them without
 * scanning the keyspace.
 */
import { randomUUID } from 'node:crypto';
import type Anthropic from '@anthropic-ai/sdk';
import type { z } from 'zod';
import { GatewayError } from '../errors.js';
import { silentLogger, type StoreLogger } from '../store/logger.js';
import { conversationRecordSchema, decodeRecord, encodeRecord, KEYS } from '../store/records.js';
import type { Store } from '../store/types.js';
import { RecencyCap, type CapOptions } from '../util/recency-cap.js';

const TITLE_CHARS = 80;

/** The stored record (schema and version in store/records.ts). */
type ConversationRecord = Omit<z.output<typeof conversationRecordSchema>, 'v'>;

/** What the list shows of one conversation. */
export interface ConversationSummary {
  id: string;
  title: string;
  createdAt: string;
  updatedAt: string;
  turns: number;
}

export interface Conversation extends ConversationSummary {
  messages: Anthropic.MessageParam[];
}

const key = KEYS.conversation;
const userIndex = KEYS.conversationIndex;

/** Turns start at a user message that is a question (text); tool results are user messages too. */
const questionIndexes = (messages: Anthropic.MessageParam[]): number[] =>
  messages.flatMap((message, index) => (message.role === 'user' && typeof message.content === 'string' ? [index] : []));

export const titleFrom = (question: string): string => {
  const line = question.trim().replace(/\s+/g, ' ');
  return line.length > TITLE_CHARS ? `${line.slice(0, TITLE_CHARS - 1)}…` : line;
};

export class Conversations {
  /**
   * Conversations held by an in-process store, least recently written first (runs.maxConversations):
   * without it a memory-store gateway would hold every conversation of the last runs.conversationTtlMs.
   */
  private readonly held: RecencyCap | undefined;

  constructor(
    private readonly store: Store,
    private readonly ttlMs: number,
    private readonly maxTurns: number,
    private readonly log: StoreLogger = silentLogger,
    cap?: CapOptions,
  ) {
    this.held = cap === undefined || store.kind !== 'memory' ? undefined : new RecencyCap(cap, ttlMs);
  }

  private async read(id: string): Promise<ConversationRecord | undefined> {
    return decodeRecord(conversationRecordSchema, await this.store.get(key(id)), key(id), this.log);
  }

  private async owned(sub: string, id: string): Promise<ConversationRecord> {
    const record = await this.read(id);
    if (record === undefined || record.sub !== sub) throw new GatewayError('REQ_4004', { message: 'No such conversation' });
    return record;
  }

  private async write(id: string, record: ConversationRecord): Promise<void> {
    await this.store.set(key(id), encodeRecord(record), { ttlMs: this.ttlMs });
    await this.store.addExpiring(userIndex(record.sub), id, Date.now() + this.ttlMs);
    this.hold(id);
  }

  /** Counts a written conversation against the cap (in-process store only) and deletes the least recently written beyond it. */
  private hold(id: string): void {
    for (const evicted of this.held?.touch(id) ?? []) {
      // Its entry in the owner's index is skipped by list() and expires on its own.
      void this.store.del(key(evicted)).catch((error: unknown) => this.log.warn({ conversationId: evicted, err: error }, 'evicting a conversation failed'));
    }
  }

  /** The earlier messages of the caller's conversation (a new id and none when not given). */
  async open(sub: string, id: string | undefined): Promise<{ id: string; messages: Anthropic.MessageParam[] }> {
    if (id === undefined) return { id: randomUUID(), messages: [] };
    const record = await this.owned(sub, id);
    return { id, messages: record.messages };
  }

  /**
   * Keeps the exchange for the next question, dropping the oldest whole turns beyond the limit. A turn
   * starts at a user message that is a question (text), so tool_use/tool_result pairs stay together.
   */
  async save(sub: string, id: string, messages: Anthropic.MessageParam[]): Promise<void> {
    const turnStarts = questionIndexes(messages);
    const keepFrom = turnStarts.length > this.maxTurns ? (turnStarts[turnStarts.length - this.maxTurns] ?? 0) : 0;
    const now = new Date().toISOString();
    const earlier = await this.read(id);
    const first = messages[turnStarts[0] ?? -1]?.content;
    await this.write(id, {
      sub,
      // A title the owner gave survives later turns; otherwise the first question names it.
      title: earlier?.title ?? titleFrom(typeof first === 'string' ? first : 'Conversation'),
      createdAt: earlier?.createdAt ?? now,
      updatedAt: now,
      messages: messages.slice(keepFrom),
    });
  }

  /** The caller's live conversations, most recently updated first. */
  async list(sub: string): Promise<ConversationSummary[]> {
    const members = await this.store.listExpiring(userIndex(sub));
    const records = await Promise.all(members.map(async ({ member }) => [member, await this.read(member)] as const));
    return records
      .flatMap(([id, record]) => (record === undefined || record.sub !== sub ? [] : [summaryOf(id, record)]))
      .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
  }

  async get(sub: string, id: string): Promise<Conversation> {
    const record = await this.owned(sub, id);
    return { ...summaryOf(id, record), messages: record.messages };
  }

  async rename(sub: string, id: string, title: string): Promise<ConversationSummary> {
    const record = await this.owned(sub, id);
    const renamed = { ...record, title: titleFrom(title), updatedAt: new Date().toISOString() };
    await this.write(id, renamed);
    return summaryOf(id, renamed);
  }

  /** Deletes the record; its index entry is skipped by list() and expires on its own. */
  async delete(sub: string, id: string): Promise<void> {
    await this.owned(sub, id);
    await this.store.del(key(id));
    this.held?.forget(id);
  }
}

function summaryOf(id: string, record: ConversationRecord): ConversationSummary {
  return { id, title: record.title, createdAt: record.createdAt, updatedAt: record.updatedAt, turns: questionIndexes(record.messages).length };
}
