/**
 * The store's wire format: every key family and record type the gateway keeps in the shared store,
 * in one place. Replicas of different versions share these during a rolling deploy, so key strings
 * never change without a migration (test/unit/store-records.test.ts pins them), and records carry a
 * version `v` and are parsed with a schema: a record that does not parse is logged and treated as
 * absent (a 404, a lost run), never a crash or a 500.
 *
 * Versions: `v: 1` is today's shape; records written before versions existed have no `v` and the
 * same shape, so they read as version 1. A reader meeting a newer version it cannot read treats the
 * record as absent. Fields a reader does not know are dropped, so a newer release may add only
 * optional fields within a version.
 *
 * All keys are relative: the Redis store prepends `store.keyPrefix` to keys and channels alike.
 */
import type Anthropic from '@anthropic-ai/sdk';
import { z } from 'zod';
import type { StoreLogger } from './logger.js';

export const RECORD_VERSION = 1;
const version = z.literal(RECORD_VERSION).optional();

/** Every key family, by what it holds. Values in comments: the stored type. */
export const KEYS = {
  /** string, RunRecord JSON, TTL runs.ttlMs. */
  run: (runId: string): string => `run:${runId}`,
  /** stream of RunLogEntry JSON (field `data`), TTL runs.ttlMs; ids are assigned by the driving replica. */
  runLog: (runId: string): string => `run-log:${runId}`,
  /** string, the id of the replica driving the run; renewed while it does. */
  runLease: (runId: string): string => `run-lease:${runId}`,
  /** counter, the readers attached on all replicas. */
  runReaders: (runId: string): string => `run-readers:${runId}`,
  /** string, the replica that settled a run nobody drives any more (single winner among readers). */
  runSettled: (runId: string): string => `run-settled:${runId}`,
  /** string, RunElicitationRecord JSON, TTL runs.elicitation.timeoutMs plus a claim grace: an upstream's question to a run's owner. */
  runElicitation: (id: string): string => `run-elicit:${id}`,
  /** string, RunElicitationAnswerRecord JSON, TTL runs.elicitation.timeoutMs: the owner's answer, for the replica driving the run. */
  runElicitationAnswer: (id: string): string => `run-elicit-answer:${id}`,
  /** string, ConfirmationRecord JSON, TTL confirmations.ttlMs plus a claim grace. */
  confirmation: (id: string): string => `confirm:${id}`,
  /** string, DecisionRecord JSON: who decided, so a late second decision learns it was decided. */
  confirmationDecided: (id: string): string => `confirm-decided:${id}`,
  /** string, ConfirmationResultRecord JSON, TTL confirmations.ttlMs: what an approved call answered, for its owner to collect. */
  confirmationResult: (id: string): string => `confirm-result:${id}`,
  /** sorted set of encoded revocations (`jti:<id>`, `sid:<id>`, `sub:<beforeSec>:<sub>`) scored by expiry. */
  revocations: 'revocations',
  /** string, ConversationRecord JSON, TTL runs.conversationTtlMs. */
  conversation: (id: string): string => `conversation:${id}`,
  /** expiring set of a user's conversation ids (each member expires with its conversation). */
  conversationIndex: (sub: string): string => `conversations:${sub}`,
  /** string, the sha256 fingerprint of a tool definition when first seen (tool pinning). */
  pin: (server: string, tool: string): string => `pin:${server}:${tool}`,
  /** stream of audit records JSON (field `data`), bounded, for the admin view's audit query. */
  audit: 'audit',
  /** counter, model tokens a user spent on one UTC day (`YYYY-MM-DD`). */
  tokens: (sub: string, day: string): string => `tokens:${sub}:${day}`,
} as const;

/** Key prefixes of rate-limiter-flexible's counters (it appends `:<key>` itself). */
export const RATE_LIMIT_PREFIXES = {
  anonymous: 'rl:anon',
  api: (tier: string): string => `rl:api:${tier}`,
  query: (tier: string): string => `rl:query:${tier}`,
} as const;

/** Pub/sub channels (the Redis store puts them under `<keyPrefix>ch:`; tail wake-ups use `<keyPrefix>wake:<stream>`). */
export const CHANNELS = {
  /** RevocationMessage JSON, pushed to every replica. */
  revocations: 'revocations',
  /** ControlMessage text: readers attaching and leaving, cancellation, hand-over of a paused run. */
  runControl: (runId: string): string => `run-ctl:${runId}`,
  /** `answered`: wakes the replica waiting for an elicitation's answer (it reads the answer record). */
  runElicitation: (id: string): string => `run-elicit:${id}`,
} as const;

// ---- records ------------------------------------------------------------------------------------

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** Model messages are the provider's shape; checked as far as the gateway relies on it. */
const messageParam = z.custom<Anthropic.MessageParam>(
  (value) => isObject(value) && (value.role === 'user' || value.role === 'assistant') && (typeof value.content === 'string' || Array.isArray(value.content)),
  'not a model message',
);
const toolResultParam = z.custom<Anthropic.ToolResultBlockParam>((value) => isObject(value) && value.type === 'tool_result' && typeof value.tool_use_id === 'string', 'not a tool result');

const pendingToolUse = z.object({ id: z.string(), name: z.string(), input: z.record(z.string(), z.unknown()) });

export const runRecordSchema = z.object({
  v: version,
  id: z.string(),
  sub: z.string(),
  conversationId: z.string(),
  status: z.enum(['running', 'awaiting_confirmation', 'completed', 'failed', 'cancelled', 'expired']),
  messages: z.array(messageParam),
  iteration: z.number().int().nonnegative(),
  createdAtMs: z.number(),
  deadlineAtMs: z.number(),
  paused: z
    .object({
      confirmationId: z.string(),
      expiresAt: z.string(),
      toolUse: pendingToolUse,
      remaining: z.array(pendingToolUse),
      results: z.array(toolResultParam),
    })
    .optional(),
});
export type RunRecord = z.output<typeof runRecordSchema>;

/** One entry of a run's event log: the event a client sees, without its id (the stream id is the id). */
export const runLogEntrySchema = z.object({ v: version, type: z.string(), data: z.record(z.string(), z.unknown()) });

export const confirmationRecordSchema = z.object({
  v: version,
  id: z.string(),
  sub: z.string(),
  server: z.string(),
  tool: z.string(),
  arguments: z.record(z.string(), z.unknown()),
  bindingHash: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
  runId: z.string().optional(),
  callId: z.string().optional(),
  /** What the arguments refer to, read when it was created (kept so every replica shows the same). */
  preview: z.string().optional(),
});
export type ConfirmationRecord = z.output<typeof confirmationRecordSchema>;

/** What an upstream asked a run's owner during a tool call (MCP elicitation, form mode). */
export const runElicitationRecordSchema = z.object({
  v: version,
  id: z.string(),
  sub: z.string(),
  runId: z.string(),
  callId: z.string(),
  server: z.string(),
  tool: z.string(),
  requestedSchema: z.record(z.string(), z.unknown()),
  expiresAt: z.string(),
});
export type RunElicitationRecord = z.output<typeof runElicitationRecordSchema>;

export const runElicitationAnswerRecordSchema = z.object({
  v: version,
  sub: z.string(),
  action: z.enum(['accept', 'decline', 'cancel']),
  content: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.array(z.string())])).optional(),
});
export type RunElicitationAnswerRecord = z.output<typeof runElicitationAnswerRecordSchema>;

export const decisionRecordSchema = z.object({ v: version, sub: z.string(), decision: z.enum(['approve', 'reject']) });

/** The outcome of an approved call that paused no run: its tool result, or the catalogued error it ended with. */
export const confirmationResultRecordSchema = z.object({
  v: version,
  sub: z.string(),
  result: z.record(z.string(), z.unknown()).optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});
export type ConfirmationResultRecord = z.output<typeof confirmationResultRecordSchema>;

/** Conversations were versioned from their first shape with a title: `v` is required. */
export const conversationRecordSchema = z.object({
  v: z.literal(1),
  sub: z.string(),
  title: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  messages: z.array(messageParam),
});

export const revocationMessageSchema = z.object({ v: version, member: z.string(), expiresAtMs: z.number() });

export const CONTROL_KINDS = ['attach', 'detach', 'cancel', 'handoff'] as const;
export type ControlKind = (typeof CONTROL_KINDS)[number];
export interface ControlMessage {
  kind: ControlKind;
  /** The replica that sent it, so it can ignore its own echo. */
  origin: string;
}

/**
 * Control messages are `<kind>:<origin>:<version>`. Releases before versions existed sent
 * `<kind>:<origin>` and read only the first two parts, so both directions of a rolling deploy work.
 */
export function encodeControl(message: ControlMessage): string {
  return `${message.kind}:${message.origin}:${RECORD_VERSION}`;
}

export function decodeControl(raw: string): ControlMessage | undefined {
  const [kind, origin, v = String(RECORD_VERSION)] = raw.split(':');
  if (origin === undefined || origin === '' || v !== String(RECORD_VERSION)) return undefined;
  return (CONTROL_KINDS as readonly string[]).includes(kind ?? '') ? { kind: kind as ControlKind, origin } : undefined;
}

/** The record with the current version stamped on, ready to store. */
export function encodeRecord<T extends object>(record: T): string {
  return JSON.stringify({ ...record, v: RECORD_VERSION });
}

/**
 * Parses a stored record: undefined for a missing one, and for one that is not JSON or does not
 * match its schema (logged once per read, with where it came from, never its content).
 */
export function decodeRecord<S extends z.ZodType>(schema: S, raw: string | null | undefined, where: string, log: StoreLogger): Omit<z.output<S>, 'v'> | undefined {
  if (raw === null || raw === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    log.warn({ record: where }, 'store record is not JSON; treated as absent');
    return undefined;
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    log.warn({ record: where, issues: parsed.error.issues.slice(0, 3).map((issue) => `${issue.path.join('.')}: ${issue.message}`) }, 'store record does not match its schema; treated as absent');
    return undefined;
  }
  if (!isObject(parsed.data)) return parsed.data;
  const { v: _v, ...record } = parsed.data;
  return record;
}
