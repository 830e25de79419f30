/**
 * Parsing and minimal validation of a `POST /v1/messages` body. Only what the simulator reads is
 * checked; unknown fields pass through untouched so usage counting sees the request as sent.
 */
import { z } from 'zod';

const cacheControl = z
  .looseObject({ type: z.literal('ephemeral'), ttl: z.enum(['5m', '1h']).optional() })
  .nullish();

/** Flat on purpose: one shape covers text, tool_use and tool_result; other block types pass. */
const contentBlock = z.looseObject({
  type: z.string(),
  text: z.string().optional(),
  id: z.string().optional(),
  name: z.string().optional(),
  input: z.record(z.string(), z.unknown()).optional(),
  tool_use_id: z.string().optional(),
  content: z
    .union([z.string(), z.array(z.looseObject({ type: z.string(), text: z.string().optional() }))])
    .optional(),
  is_error: z.boolean().optional(),
  cache_control: cacheControl,
});

const message = z.looseObject({
  role: z.enum(['user', 'assistant']),
  content: z.union([z.string(), z.array(contentBlock)]),
});

const propertySchema = z.looseObject({
  type: z.union([z.string(), z.array(z.string())]).optional(),
  enum: z.array(z.unknown()).optional(),
  format: z.string().optional(),
  pattern: z.string().optional(),
  description: z.string().optional(),
});

const inputSchema = z.looseObject({
  properties: z.record(z.string(), propertySchema).optional(),
  required: z.array(z.string()).optional(),
});

const tool = z.looseObject({
  name: z.string().min(1),
  description: z.string().optional(),
  input_schema: inputSchema.optional(),
  cache_control: cacheControl,
});

const systemBlock = z.looseObject({
  type: z.literal('text'),
  text: z.string(),
  cache_control: cacheControl,
});

const messagesRequest = z.looseObject({
  model: z.string().min(1),
  max_tokens: z.number().int().positive(),
  messages: z.array(message).min(1),
  system: z.union([z.string(), z.array(systemBlock)]).optional(),
  tools: z.array(tool).optional(),
  stream: z.boolean().optional(),
});

export type MessagesRequest = z.infer<typeof messagesRequest>;
export type RequestMessage = z.infer<typeof message>;
export type RequestContentBlock = z.infer<typeof contentBlock>;
export type RequestTool = z.infer<typeof tool>;
export type ToolInputSchema = z.infer<typeof inputSchema>;
export type CacheControl = z.infer<typeof cacheControl>;

export type ParseResult = { ok: true; request: MessagesRequest } | { ok: false; message: string };

/** Validates a decoded JSON body; the message names the first offending field like the real API. */
export function parseMessagesRequest(body: unknown): ParseResult {
  const result = messagesRequest.safeParse(body);
  if (result.success) return { ok: true, request: result.data };
  const issue = result.error.issues[0];
  const path = issue && issue.path.length > 0 ? issue.path.join('.') : 'body';
  return { ok: false, message: `${path}: ${issue?.message ?? 'invalid request'}` };
}
