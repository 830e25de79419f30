/**
 * A tool server's sampling request (MCP sampling/createMessage) made during one of an agent run's
 * tool calls: served by the gateway's model and counted against the run owner's daily token budget,
 * or refused, per `runs.sampling`. Off by default: sampling lets a tool server spend the user's
 * budget on prompts it writes itself, and the 2026-07-28 protocol deprecates it in favour of servers
 * calling a model API of their own. Either way it is a run event and an audit record.
 */
import type Anthropic from '@anthropic-ai/sdk';
import { ProtocolError, ProtocolErrorCode, type CreateMessageRequestParams, type CreateMessageResult } from '@modelcontextprotocol/client';
import type { GatewayConfig } from '../config/schema.js';
import { GatewayError, toGatewayError } from '../errors.js';
import type { AnthropicProvider, ModelTurn } from '../llm/anthropic-provider.js';
import { actorOf, type AuditLog } from '../ops/audit.js';
import type { Metrics } from '../ops/metrics.js';
import { tierFor } from '../policy/rate-tier.js';
import type { ElicitationCall } from './run-elicitations.js';
import type { RunEvent } from './events.js';
import type { TokenBudget } from './token-budget.js';

/** The MCP spec's code for a sampling request the client rejects. */
const SAMPLING_REJECTED = -1;

const IMAGE_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

export interface RunSamplingDependencies {
  model: AnthropicProvider;
  budget: TokenBudget;
  config: GatewayConfig;
  metrics: Metrics;
  audit: AuditLog;
  emit(runId: string, event: RunEvent): Promise<string>;
  /** Store writes behind the run's events (a store outage delays the count, it does not fail the run). */
  write(runId: string, write: () => Promise<void>): Promise<void>;
}

export interface SamplingCall extends ElicitationCall {
  readonly deadlineAtMs: number;
}

type ModelBlock = Anthropic.TextBlockParam | Anthropic.ImageBlockParam;

export class RunSampling {
  constructor(private readonly deps: RunSamplingDependencies) {}

  async serve(call: SamplingCall, params: CreateMessageRequestParams, signal: AbortSignal): Promise<CreateMessageResult> {
    const { config, model } = this.deps;
    if (!config.runs.sampling.enabled) {
      throw await this.refuse(call, 'disabled', new ProtocolError(ProtocolErrorCode.MethodNotFound, 'Sampling is not enabled for agent runs on this gateway'));
    }
    try {
      await this.deps.budget.assertAvailable(call.identity, tierFor(call.identity.roles, config.limits.tiers));
    } catch (error) {
      if (!(error instanceof GatewayError) || error.code !== 'CLAUDE_3003') throw error;
      throw await this.refuse(call, 'budget', new ProtocolError(SAMPLING_REJECTED, "The user's daily model-token budget is used up"));
    }
    let messages: Anthropic.MessageParam[];
    try {
      messages = toModelMessages(params);
    } catch (error) {
      throw await this.refuse(call, 'unsupported', error);
    }
    let turn: ModelTurn;
    try {
      turn = await model.complete({
        system: params.systemPrompt,
        messages,
        maxTokens: Math.min(params.maxTokens, config.runs.sampling.maxTokens),
        temperature: params.temperature,
        stopSequences: params.stopSequences,
        timeoutMs: call.deadlineAtMs - Date.now(),
        signal,
      });
    } catch (error) {
      if (signal.aborted) throw error;
      const failure = toGatewayError(error);
      throw await this.refuse(call, failure.code, new ProtocolError(ProtocolErrorCode.InternalError, `The gateway's model failed: ${failure.message}`));
    }
    const { usage } = turn;
    const tokens = usage.inputTokens + usage.outputTokens + usage.cacheCreationTokens;
    this.deps.metrics.llmTokens.inc({ kind: 'input' }, usage.inputTokens);
    this.deps.metrics.llmTokens.inc({ kind: 'output' }, usage.outputTokens);
    await this.deps.write(call.runId, () => this.deps.budget.record(call.identity.sub, tokens));
    await this.deps.emit(call.runId, {
      type: 'sampling',
      data: { callId: call.callId, server: call.server, tool: call.tool, outcome: 'served', inputTokens: usage.inputTokens, outputTokens: usage.outputTokens },
    });
    this.deps.metrics.runUpstreamRequests.inc({ kind: 'sampling', outcome: 'served' });
    this.record(call, 'served', `${tokens} tokens`, { maxTokens: params.maxTokens, messages: params.messages.length });
    const text = turn.content
      .filter((block): block is Anthropic.TextBlock => block.type === 'text')
      .map((block) => block.text)
      .join('');
    return { role: 'assistant', model: model.model, content: { type: 'text', text }, stopReason: stopReasonOf(turn.stopReason) };
  }

  /** Logs and audits a refusal; returns the error the server gets. */
  private async refuse(call: SamplingCall, reason: string, error: unknown): Promise<unknown> {
    await this.deps.emit(call.runId, { type: 'sampling', data: { callId: call.callId, server: call.server, tool: call.tool, outcome: 'refused', reason, inputTokens: 0, outputTokens: 0 } });
    this.deps.metrics.runUpstreamRequests.inc({ kind: 'sampling', outcome: 'refused' });
    this.record(call, 'refused', reason, {});
    return error;
  }

  private record(call: SamplingCall, outcome: 'served' | 'refused', reason: string, request: Record<string, unknown>): void {
    const { identity } = call;
    this.deps.audit.record({
      event: 'sampling',
      ...actorOf(identity),
      server: call.server,
      tool: call.tool,
      // The request's shape, never the prompt.
      arguments: request,
      decision: outcome === 'served' ? 'allow' : 'deny',
      reason,
      outcome,
      runId: call.runId,
    });
  }
}

/** MCP sampling messages as model messages: text and images; anything else is refused. */
function toModelMessages(params: CreateMessageRequestParams): Anthropic.MessageParam[] {
  if ('tools' in params && params.tools !== undefined) {
    throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'Sampling with tools is not supported by the gateway');
  }
  return params.messages.map((message) => {
    const blocks = Array.isArray(message.content) ? message.content : [message.content];
    return {
      role: message.role,
      content: blocks.map((block): ModelBlock => {
        if (block.type === 'text') return { type: 'text', text: block.text };
        if (block.type === 'image' && IMAGE_TYPES.has(block.mimeType)) {
          return { type: 'image', source: { type: 'base64', media_type: block.mimeType as Anthropic.Base64ImageSource['media_type'], data: block.data } };
        }
        throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Sampling through the gateway takes text and images (JPEG, PNG, GIF, WebP), not ${block.type}`);
      }),
    };
  });
}

function stopReasonOf(reason: string | null): string | undefined {
  if (reason === 'end_turn') return 'endTurn';
  if (reason === 'max_tokens') return 'maxTokens';
  if (reason === 'stop_sequence') return 'stopSequence';
  return reason ?? undefined;
}
