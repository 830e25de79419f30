/**
 * Conversations give follow-up questions the earlier turns. Each belongs to one user and expires;
 * anyone else asking for it is told it does not exist.
 */
import { randomUUID } from 'node:crypto';
import type Anthropic from '@anthropic-ai/sdk';
import { GatewayError } from '../errors.js';
import type { Store } from '../store/types.js';

interface Conversation {
  sub: string;
  messages: Anthropic.MessageParam[];
}

const key = (id: string): string => `conversation:${id}`;

export class Conversations {
  constructor(
    private readonly store: Store,
    private readonly ttlMs: number,
    private readonly maxTurns: number,
  ) {}

  /** The earlier messages of the caller's conversation (a new id and none when not given). */
  async open(sub: string, id: string | undefined): Promise<{ id: string; messages: Anthropic.MessageParam[] }> {
    if (id === undefined) return { id: randomUUID(), messages: [] };
    const raw = await this.store.get(key(id));
    const conversation = raw === null ? undefined : (JSON.parse(raw) as Conversation);
    if (conversation === undefined || conversation.sub !== sub) throw new GatewayError('REQ_4004', { message: 'No such conversation' });
    return { id, messages: conversation.messages };
  }

  /**
   * Keeps the exchange for the next question, dropping the oldest whole turns beyond the limit. A turn
   * starts at a user message that is a question (text), so tool_use/tool_result pairs stay together.
   */
  async save(sub: string, id: string, messages: Anthropic.MessageParam[]): Promise<void> {
    const turnStarts = messages.flatMap((message, index) => (message.role === 'user' && typeof message.content === 'string' ? [index] : []));
    const keepFrom = turnStarts.length > this.maxTurns ? (turnStarts[turnStarts.length - this.maxTurns] ?? 0) : 0;
    await this.store.set(key(id), JSON.stringify({ sub, messages: messages.slice(keepFrom) } satisfies Conversation), { ttlMs: this.ttlMs });
  }
}
