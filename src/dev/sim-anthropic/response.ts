/**
 * Shapes a decided reply into the wire objects of the Messages API: the `Message` of a JSON
 * response and the event sequence of a streamed one.
 */
import type {
  ContentBlock,
  Message,
  RawMessageStreamEvent,
  Usage,
} from '@anthropic-ai/sdk/resources/messages';
import { replyTokens, type Reply, type ReplyBlock } from './brain.js';
import type { InputUsage } from './usage.js';

/** `ping` is part of the real stream but not of the SDK's event union. */
export type StreamEvent = RawMessageStreamEvent | { type: 'ping' };

const JSON_CHUNK = 12;

function toContentBlock(block: ReplyBlock): ContentBlock {
  return block.type === 'text'
    ? { type: 'text', text: block.text, citations: null }
    : { type: 'tool_use', id: block.id, name: block.name, input: block.input, caller: { type: 'direct' } };
}

function usage(input: InputUsage, outputTokens: number): Usage {
  return {
    ...input,
    output_tokens: outputTokens,
    inference_geo: null,
    output_tokens_details: null,
    server_tool_use: null,
    service_tier: 'standard',
    speed: null,
  };
}

export function buildMessage(id: string, model: string, reply: Reply, input: InputUsage): Message {
  return {
    id,
    type: 'message',
    role: 'assistant',
    model,
    content: reply.content.map(toContentBlock),
    stop_reason: reply.stopReason,
    stop_sequence: null,
    stop_details: null,
    container: null,
    diagnostics: null,
    usage: usage(input, replyTokens(reply.content)),
  };
}

/**
 * Word-sized pieces, each carrying its leading whitespace, that join back to `text`. A markdown
 * table row goes as one piece: word by word, a table of twenty rows would take ten times as long
 * as the real API's few-token deltas.
 */
export function splitText(text: string): string[] {
  return text.match(/\s*\|[^\n]*|\s*\S+|\s+$/g) ?? [];
}

function splitJson(json: string): string[] {
  const chunks: string[] = [];
  for (let at = 0; at < json.length; at += JSON_CHUNK) chunks.push(json.slice(at, at + JSON_CHUNK));
  return chunks;
}

function blockEvents(block: ContentBlock, index: number): StreamEvent[] {
  const events: StreamEvent[] = [];
  if (block.type === 'text') {
    events.push({ type: 'content_block_start', index, content_block: { ...block, text: '' } });
    for (const text of splitText(block.text)) {
      events.push({ type: 'content_block_delta', index, delta: { type: 'text_delta', text } });
    }
  } else if (block.type === 'tool_use') {
    events.push({ type: 'content_block_start', index, content_block: { ...block, input: {} } });
    for (const partial_json of splitJson(JSON.stringify(block.input))) {
      events.push({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json } });
    }
  }
  events.push({ type: 'content_block_stop', index });
  return events;
}

/** The full event sequence of a streamed reply, in wire order. */
export function streamEvents(message: Message): StreamEvent[] {
  const { usage: final } = message;
  return [
    {
      type: 'message_start',
      message: { ...message, content: [], stop_reason: null, usage: { ...final, output_tokens: 1 } },
    },
    { type: 'ping' },
    ...message.content.flatMap(blockEvents),
    {
      type: 'message_delta',
      delta: { stop_reason: message.stop_reason, stop_sequence: null, stop_details: null, container: null },
      usage: {
        input_tokens: final.input_tokens,
        cache_creation_input_tokens: final.cache_creation_input_tokens,
        cache_read_input_tokens: final.cache_read_input_tokens,
        output_tokens: final.output_tokens,
        output_tokens_details: null,
        server_tool_use: null,
      },
    },
    { type: 'message_stop' },
  ];
}
