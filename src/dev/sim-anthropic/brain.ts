/**
 * The deterministic "model": decides the assistant's reply to a request. Pure apart from the id
 * generator it is given, so tests can pin every decision.
 */
import type { MessagesRequest, RequestContentBlock, RequestMessage } from './request.js';
import { summariseToolResults, type ToolOutcome } from './summary.js';
import { fillArguments } from './tool-arguments.js';
import { chooseTool } from './tool-choice.js';
import { charsForTokens, tokensForChars } from './tokens.js';

export type ReplyBlock =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'tool_use'; readonly id: string; readonly name: string; readonly input: Record<string, unknown> };

export type ReplyStopReason = 'end_turn' | 'tool_use' | 'max_tokens';

export interface Reply {
  readonly content: readonly ReplyBlock[];
  readonly stopReason: ReplyStopReason;
}

export const LOOKUP_PREAMBLE = 'Let me look that up.';

function blocksOf(message: RequestMessage): RequestContentBlock[] {
  return typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : message.content;
}

function textOf(blocks: readonly RequestContentBlock[]): string {
  return blocks
    .filter((block) => block.type === 'text')
    .map((block) => block.text ?? '')
    .join('\n');
}

function resultText(block: RequestContentBlock): string {
  const { content } = block;
  if (content === undefined) return '';
  if (typeof content === 'string') return content;
  return content.map((part) => part.text ?? '').join('\n');
}

function toolNamesById(messages: readonly RequestMessage[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const message of messages) {
    if (message.role !== 'assistant') continue;
    for (const block of blocksOf(message)) {
      if (block.type === 'tool_use' && block.id !== undefined && block.name !== undefined) names.set(block.id, block.name);
    }
  }
  return names;
}

/** Output size in tokens, counted like usage.output_tokens. */
export function replyTokens(content: readonly ReplyBlock[]): number {
  const chars = content.reduce(
    (sum, block) => sum + (block.type === 'text' ? block.text.length : block.name.length + JSON.stringify(block.input).length),
    0,
  );
  return tokensForChars(chars);
}

function answerQuestion(request: MessagesRequest, question: string, newToolUseId: () => string): Reply {
  const tools = request.tools ?? [];
  const tool = chooseTool(question, tools);
  if (tool === undefined) {
    const offered = tools.length > 0 ? ` The tools I can use are: ${tools.map((t) => t.name).join(', ')}.` : '';
    return {
      content: [{ type: 'text', text: `None of my tools fits that request, so I cannot look it up.${offered}` }],
      stopReason: 'end_turn',
    };
  }
  const input = fillArguments(tool.input_schema, question, tool.name);
  return {
    content: [
      { type: 'text', text: LOOKUP_PREAMBLE },
      { type: 'tool_use', id: newToolUseId(), name: tool.name, input },
    ],
    stopReason: 'tool_use',
  };
}

function summarise(results: readonly RequestContentBlock[], messages: readonly RequestMessage[]): Reply {
  const names = toolNamesById(messages);
  const outcomes: ToolOutcome[] = results.map((block) => ({
    toolName: names.get(block.tool_use_id ?? '') ?? 'the tool',
    text: resultText(block),
    isError: block.is_error === true,
  }));
  return { content: [{ type: 'text', text: summariseToolResults(outcomes) }], stopReason: 'end_turn' };
}

/** Cuts a reply that would exceed `max_tokens`, like the real model stopping mid-sentence. */
export function limitToMaxTokens(reply: Reply, maxTokens: number): Reply {
  if (replyTokens(reply.content) <= maxTokens) return reply;
  let budget = charsForTokens(maxTokens);
  const content: ReplyBlock[] = [];
  for (const block of reply.content) {
    // A half-written tool call is useless to the caller, so only text survives the cut.
    if (block.type !== 'text' || budget <= 0) break;
    content.push({ type: 'text', text: block.text.slice(0, budget) });
    budget -= block.text.length;
  }
  return { content, stopReason: 'max_tokens' };
}

export function decideReply(request: MessagesRequest, newToolUseId: () => string): Reply {
  const lastUser = request.messages.findLast((message) => message.role === 'user');
  const blocks = lastUser ? blocksOf(lastUser) : [];
  const results = blocks.filter((block) => block.type === 'tool_result');
  const reply =
    results.length > 0
      ? summarise(results, request.messages)
      : answerQuestion(request, textOf(blocks), newToolUseId);
  return limitToMaxTokens(reply, request.max_tokens);
}
