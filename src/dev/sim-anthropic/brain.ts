/**
 * The deterministic "model": decides the assistant's reply to a request. Pure apart from the id
 * generator it is given, so tests can pin every decision.
 */
import { readIntent, type Intent } from './intent.js';
import type { MessagesRequest, RequestContentBlock, RequestMessage } from './request.js';
import { summariseToolResults, unframe, type ToolOutcome } from './summary.js';
import { fillArguments, type MissingArgument } from './tool-arguments.js';
import { chooseTool } from './tool-choice.js';
import { isIdProperty, profileTool, toolLabel, type ToolProfile } from './tool-profile.js';
import { splitWords } from './words.js';
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
export const NEXT_PAGE_PREAMBLE = 'There is more; fetching the next page.';
/** "all employees" follows pages up to this many; a model would not read a thousand pages either. */
export const MAX_PAGES = 5;

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

/** Output size in tokens, counted like usage.output_tokens. */
export function replyTokens(content: readonly ReplyBlock[]): number {
  const chars = content.reduce(
    (sum, block) => sum + (block.type === 'text' ? block.text.length : block.name.length + JSON.stringify(block.input).length),
    0,
  );
  return tokensForChars(chars);
}

interface Call {
  readonly name: string;
  readonly input: Record<string, unknown>;
}

/** The question being answered and the tool calls made for it so far, with their results. */
interface Turn {
  readonly question: string;
  readonly outcomes: ReadonlyArray<Call & { readonly text: string; readonly isError: boolean }>;
}

function isQuestion(message: RequestMessage): boolean {
  const blocks = blocksOf(message);
  return message.role === 'user' && blocks.some((block) => block.type === 'text') && !blocks.some((block) => block.type === 'tool_result');
}

function currentTurn(messages: readonly RequestMessage[]): Turn {
  const start = messages.findLastIndex(isQuestion);
  const question = start >= 0 ? textOf(blocksOf(messages[start] as RequestMessage)) : '';
  const calls = new Map<string, Call>();
  const outcomes: Array<Call & { text: string; isError: boolean }> = [];
  for (const message of messages.slice(start + 1)) {
    for (const block of blocksOf(message)) {
      if (block.type === 'tool_use' && block.id !== undefined) calls.set(block.id, { name: block.name ?? '', input: block.input ?? {} });
      if (block.type === 'tool_result') {
        const call = calls.get(block.tool_use_id ?? '') ?? { name: 'the tool', input: {} };
        outcomes.push({ ...call, text: resultText(block), isError: block.is_error === true });
      }
    }
  }
  return { question, outcomes };
}

function say(text: string): Reply {
  return { content: [{ type: 'text', text }], stopReason: 'end_turn' };
}

function call(preamble: string, name: string, input: Record<string, unknown>, newToolUseId: () => string): Reply {
  return {
    content: [
      { type: 'text', text: preamble },
      { type: 'tool_use', id: newToolUseId(), name, input },
    ],
    stopReason: 'tool_use',
  };
}

/** What the user can do with the tools offered, in plain words. */
function capabilities(profiles: readonly ToolProfile[]): string {
  const labels = [...new Set(profiles.map((profile) => profile.label))];
  if (labels.length === 0) return 'You have no tools available right now.';
  return `With your access I can:\n\n${labels.map((label) => `- ${label}`).join('\n')}`;
}

function refusal(intent: Intent, profiles: readonly ToolProfile[]): Reply {
  const what = [...intent.nouns, ...intent.ids].join(' ') || 'that';
  const opening =
    intent.action === undefined
      ? "I don't have a tool that can answer that."
      : `I can't ${intent.action} ${what} for you: none of the tools you have access to can do that, so nothing was changed.`;
  return say(`${opening}\n\n${capabilities(profiles)}`);
}

function askFor(profile: ToolProfile, missing: readonly MissingArgument[]): Reply {
  const items = missing.map(({ name, description }) => `- **${splitWords(name).join(' ')}**${description === undefined ? '' : `: ${description}`}`);
  return say(`To ${profile.label} I need a little more from you:\n\n${items.join('\n')}\n\nTell me and I will go ahead.`);
}

function preambleFor(profile: ToolProfile, input: Record<string, unknown>): string {
  if (profile.readOnly) return LOOKUP_PREAMBLE;
  const ids = Object.entries(input)
    .filter(([key, value]) => isIdProperty(key) && typeof value === 'string')
    .map(([, value]) => String(value));
  const target = ids.length > 0 ? ` ${ids.join(', ')}` : '';
  return `I'll ${profile.label}${target}.${profile.needsConfirmation ? ' You will be asked to confirm first.' : ''}`;
}

function answerQuestion(intent: Intent, profiles: readonly ToolProfile[], newToolUseId: () => string): Reply {
  const choice = chooseTool(intent, profiles);
  if (choice.kind === 'none') return refusal(intent, profiles);
  const { profile } = choice;
  const { input, missing } = fillArguments(profile.tool.input_schema, intent.question, profile.tool.name);
  if (missing.length > 0) return askFor(profile, missing);
  return call(preambleFor(profile, input), profile.tool.name, input, newToolUseId);
}

function nextCursorOf(text: string): string | undefined {
  try {
    const value: unknown = JSON.parse(unframe(text).body);
    const cursor = typeof value === 'object' && value !== null && 'nextCursor' in value ? value.nextCursor : undefined;
    return typeof cursor === 'string' ? cursor : undefined;
  } catch {
    return undefined;
  }
}

function afterResults(intent: Intent, turn: Turn, profiles: readonly ToolProfile[], newToolUseId: () => string): Reply {
  const last = turn.outcomes.at(-1);
  const cursor = last === undefined || last.isError ? undefined : nextCursorOf(last.text);
  // "all employees": keep reading pages (bounded); otherwise the answer says that more exist.
  if (intent.wantsAll && last !== undefined && cursor !== undefined && turn.outcomes.filter((outcome) => outcome.name === last.name).length < MAX_PAGES) {
    return call(NEXT_PAGE_PREAMBLE, last.name, { ...last.input, cursor }, newToolUseId);
  }
  const byName = new Map(profiles.map((profile) => [profile.tool.name, profile]));
  const outcomes: ToolOutcome[] = turn.outcomes.map((outcome) => ({
    label: byName.get(outcome.name)?.label ?? toolLabel(outcome.name),
    action: byName.get(outcome.name)?.action,
    input: outcome.input,
    text: outcome.text,
    isError: outcome.isError,
  }));
  return say(summariseToolResults(outcomes, intent));
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
  const turn = currentTurn(request.messages);
  const intent = readIntent(turn.question);
  const profiles = (request.tools ?? []).map(profileTool);
  const reply = turn.outcomes.length > 0 ? afterResults(intent, turn, profiles, newToolUseId) : answerQuestion(intent, profiles, newToolUseId);
  return limitToMaxTokens(reply, request.max_tokens);
}
