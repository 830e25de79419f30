/**
 * A user's conversations: list, read back as a transcript, rename, delete. Owner-only: a conversation
 * of someone else answers 404 exactly like one that never existed.
 */
import type Anthropic from '@anthropic-ai/sdk';
import type { FastifyInstance } from 'fastify';
import { DECLINED_MESSAGE } from '../../runs/agent-loop.js';
import type { Conversations } from '../../runs/conversations.js';
import type { Catalogue } from '../../upstream/catalogue.js';
import { identityOf } from '../authenticate.js';

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: '^[0-9a-fA-F-]{36}$' } },
} as const;

const summary = {
  type: 'object',
  required: ['id', 'title', 'createdAt', 'updatedAt', 'turns'],
  properties: {
    id: { type: 'string' },
    title: { type: 'string' },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
    turns: { type: 'integer', description: 'Questions asked in it' },
  },
} as const;

const transcriptItem = {
  type: 'object',
  required: ['type'],
  properties: {
    type: { type: 'string', enum: ['text', 'tool'] },
    text: { type: 'string' },
    server: { type: 'string' },
    tool: { type: 'string' },
    title: { type: 'string' },
    arguments: { type: 'object', additionalProperties: true },
    outcome: { type: 'string', enum: ['done', 'failed', 'declined', 'unknown'] },
  },
} as const;

/** One question and what followed it, in order, as the console shows a finished turn. */
export interface TranscriptTurn {
  question: string;
  items: TranscriptItem[];
}
export type TranscriptItem =
  | { type: 'text'; text: string }
  | { type: 'tool'; server: string; tool: string; title?: string; arguments: Record<string, unknown>; outcome: 'done' | 'failed' | 'declined' | 'unknown' };

function resultText(block: Anthropic.ToolResultBlockParam): string {
  if (typeof block.content === 'string') return block.content;
  return (block.content ?? []).map((part) => (part.type === 'text' ? part.text : '')).join('');
}

/** Rebuilds the readable transcript from the model messages kept for follow-ups. */
export function transcriptOf(messages: Anthropic.MessageParam[], catalogue: Pick<Catalogue, 'resolve'>): TranscriptTurn[] {
  const turns: TranscriptTurn[] = [];
  const tools = new Map<string, Extract<TranscriptItem, { type: 'tool' }>>();
  for (const message of messages) {
    if (message.role === 'user' && typeof message.content === 'string') {
      turns.push({ question: message.content, items: [] });
      continue;
    }
    const turn = turns.at(-1);
    if (turn === undefined || typeof message.content === 'string') {
      if (turn !== undefined && typeof message.content === 'string') turn.items.push({ type: 'text', text: message.content });
      continue;
    }
    for (const block of message.content) {
      if (block.type === 'text') {
        const last = turn.items.at(-1);
        if (last?.type === 'text') last.text += `\n\n${block.text}`;
        else turn.items.push({ type: 'text', text: block.text });
      } else if (block.type === 'tool_use') {
        // Names go back through the catalogue's table; a tool gone since shows under its model name.
        const known = catalogue.resolve(block.name);
        const item: Extract<TranscriptItem, { type: 'tool' }> = {
          type: 'tool',
          server: known?.server ?? '',
          tool: known?.name ?? block.name,
          ...(known?.title === undefined ? {} : { title: known.title }),
          arguments: (block.input ?? {}) as Record<string, unknown>,
          outcome: 'unknown',
        };
        tools.set(block.id, item);
        turn.items.push(item);
      } else if (block.type === 'tool_result') {
        const item = tools.get(block.tool_use_id);
        if (item === undefined) continue;
        item.outcome = resultText(block) === DECLINED_MESSAGE ? 'declined' : block.is_error === true ? 'failed' : 'done';
      }
    }
  }
  return turns;
}

export function registerConversationRoutes(app: FastifyInstance, conversations: Conversations, catalogue: Catalogue): void {
  app.get(
    '/api/conversations',
    {
      schema: {
        summary: "The caller's conversations, most recent first",
        response: { 200: { type: 'object', required: ['conversations'], properties: { conversations: { type: 'array', items: summary } } } },
      },
    },
    async (request) => ({ conversations: await conversations.list(identityOf(request).sub) }),
  );

  app.get<{ Params: { id: string } }>(
    '/api/conversations/:id',
    {
      schema: {
        summary: 'One conversation of the caller, as a transcript (404 for anyone else)',
        params: idParams,
        response: {
          200: {
            type: 'object',
            required: [...summary.required, 'transcript'],
            properties: {
              ...summary.properties,
              transcript: {
                type: 'array',
                items: { type: 'object', required: ['question', 'items'], properties: { question: { type: 'string' }, items: { type: 'array', items: transcriptItem } } },
              },
            },
          },
        },
      },
    },
    async (request) => {
      const { messages, ...rest } = await conversations.get(identityOf(request).sub, request.params.id);
      return { ...rest, transcript: transcriptOf(messages, catalogue) };
    },
  );

  app.patch<{ Params: { id: string }; Body: { title: string } }>(
    '/api/conversations/:id',
    {
      schema: {
        summary: 'Rename a conversation',
        params: idParams,
        body: { type: 'object', additionalProperties: false, required: ['title'], properties: { title: { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' } } },
        response: { 200: summary },
      },
    },
    async (request) => conversations.rename(identityOf(request).sub, request.params.id, request.body.title),
  );

  app.delete<{ Params: { id: string } }>(
    '/api/conversations/:id',
    { schema: { summary: 'Delete a conversation', params: idParams, response: { 204: { type: 'null' } } } },
    async (request, reply) => {
      await conversations.delete(identityOf(request).sub, request.params.id);
      return reply.status(204).send();
    },
  );
}
