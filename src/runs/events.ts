/**
 * The run events: the single source of truth for what a client can see of an agent run. Every event
 * is appended to the run's log before it is sent; the SSE endpoint only tails that log.
 */
import type { ErrorObject } from '../errors.js';
import type { ConfirmationToolView } from './confirmation-view.js';

/** The form an elicitation asks for: a flat object of primitive fields (MCP restricts it so). */
export interface ElicitationSchema {
  type: 'object';
  properties: Record<string, Record<string, unknown>>;
  required?: string[];
}

export type RunStatus = 'completed' | 'failed' | 'cancelled' | 'expired';

export interface RunEventMap {
  run: { runId: string; conversationId: string; servers: string[]; unavailable: string[] };
  text: { delta: string };
  tool_call: { callId: string; server: string; tool: string; arguments: Record<string, unknown> };
  tool_result: { callId: string; ok: boolean; isError: boolean; durationMs: number; truncated: boolean; summary: string };
  /** `preview`: what the arguments refer to, when the tool's config names a preview (see confirmation-preview.ts). */
  confirmation_required: { confirmationId: string; callId: string; server: string; tool: string; arguments: Record<string, unknown>; expiresAt: string; preview?: string } & ConfirmationToolView;
  confirmation_resolved: { confirmationId: string; decision: 'approve' | 'reject' | 'expired' | 'withdrawn' };
  /** An upstream asks the run's owner for input during tool call `callId` (MCP elicitation, form mode; see run-elicitations.ts). */
  elicitation_required: { elicitationId: string; callId: string; server: string; tool: string; message: string; requestedSchema: ElicitationSchema; expiresAt: string };
  /** `expired`: no answer in time (the upstream got `cancel`); `withdrawn`: the call or run ended first. */
  elicitation_resolved: { elicitationId: string; outcome: 'accept' | 'decline' | 'cancel' | 'expired' | 'withdrawn' };
  /** An upstream asked for a model completion during tool call `callId` (MCP sampling; see run-sampling.ts). */
  sampling: { callId: string; server: string; tool: string; outcome: 'served' | 'refused'; reason?: string; inputTokens: number; outputTokens: number };
  warning: { code: string; message: string };
  usage: { inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheCreationTokens: number };
  error: ErrorObject;
  done: { status: RunStatus; stopReason: string | null };
}

export type RunEventType = keyof RunEventMap;

export type RunEvent = { [K in RunEventType]: { type: K; data: RunEventMap[K] } }[RunEventType];

/** A logged event with its id in the run log (monotonic per run; the SSE `id:`). */
export type LoggedRunEvent = RunEvent & { id: string };

export const RUN_EVENT_TYPES: readonly RunEventType[] = [
  'run',
  'text',
  'tool_call',
  'tool_result',
  'confirmation_required',
  'confirmation_resolved',
  'elicitation_required',
  'elicitation_resolved',
  'sampling',
  'warning',
  'usage',
  'error',
  'done',
];
