/**
 * Claude through the official Anthropic SDK: streaming Messages API with tool use. The SDK retries
 * 429/529/5xx itself (within the run's deadline); what still fails becomes a catalogued error.
 * The base URL is configurable, which is all the simulated API in the demo needs.
 */
import Anthropic, { APIError, AuthenticationError, BadRequestError, PermissionDeniedError, RateLimitError } from '@anthropic-ai/sdk';
import type { GatewayConfig } from '../config/schema.js';
import { GatewayError } from '../errors.js';

export interface TurnUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
}

export interface ModelTurn {
  content: Anthropic.ContentBlock[];
  stopReason: string | null;
  usage: TurnUsage;
}

export interface TurnRequest {
  system: Anthropic.TextBlockParam[];
  tools: Anthropic.Tool[];
  messages: Anthropic.MessageParam[];
  /** Milliseconds left before the run's deadline; bounds the request including the SDK's retries. */
  timeoutMs: number;
  signal: AbortSignal;
}

/** One model reply without tools, not streamed (a tool server's sampling request). */
export interface CompletionRequest {
  system?: string | undefined;
  messages: Anthropic.MessageParam[];
  maxTokens: number;
  temperature?: number | undefined;
  stopSequences?: string[] | undefined;
  timeoutMs: number;
  signal: AbortSignal;
}

const CREDENTIAL_CHECK_INTERVAL_MS = 60_000;

export function modelError(error: unknown): GatewayError {
  if (error instanceof RateLimitError) {
    const retryAfter = error.headers?.get('retry-after') ?? undefined;
    return new GatewayError('CLAUDE_3002', { cause: error, headers: retryAfter === undefined ? {} : { 'retry-after': retryAfter } });
  }
  if (error instanceof AuthenticationError || error instanceof PermissionDeniedError) {
    return new GatewayError('CLAUDE_3004', { cause: error });
  }
  if (error instanceof BadRequestError) {
    return new GatewayError('CLAUDE_3001', { cause: error, retryable: false, details: { status: 400, reason: error.message } });
  }
  if (error instanceof APIError) {
    const status: number | undefined = (error as APIError<number | undefined>).status;
    return new GatewayError('CLAUDE_3001', { cause: error, details: { status: status ?? null } });
  }
  return new GatewayError('CLAUDE_3001', { cause: error });
}

export class AnthropicProvider {
  private readonly client: Anthropic;
  private credentialCheck: { atMs: number; result: Promise<{ ok: boolean; detail?: string }> } | undefined;

  constructor(private readonly config: GatewayConfig['llm']) {
    this.client = new Anthropic({
      apiKey: config.apiKey ?? null,
      baseURL: config.baseURL ?? null,
      timeout: config.timeoutMs,
      maxRetries: config.maxRetries,
    });
  }

  get model(): string {
    return this.config.model;
  }

  /** Streams one model turn, handing text deltas to `onText` as they arrive. */
  async streamTurn(request: TurnRequest, onText: (delta: string) => Promise<void>): Promise<ModelTurn> {
    const stream = this.client.messages.stream(
      {
        model: this.config.model,
        max_tokens: this.config.maxTokens,
        system: request.system,
        tools: request.tools,
        messages: request.messages,
      },
      { signal: request.signal, timeout: Math.max(1, Math.min(this.config.timeoutMs, request.timeoutMs)) },
    );
    try {
      for await (const event of stream) {
        if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') await onText(event.delta.text);
      }
      const message = await stream.finalMessage();
      return {
        content: message.content,
        stopReason: message.stop_reason,
        usage: usageOf(message.usage),
      };
    } catch (error) {
      stream.abort();
      if (request.signal.aborted) throw request.signal.reason ?? error;
      throw modelError(error);
    }
  }

  /** One reply to `request`, with the configured model. */
  async complete(request: CompletionRequest): Promise<ModelTurn> {
    try {
      const message = await this.client.messages.create(
        {
          model: this.config.model,
          max_tokens: request.maxTokens,
          messages: request.messages,
          ...(request.system === undefined ? {} : { system: request.system }),
          ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
          ...(request.stopSequences === undefined ? {} : { stop_sequences: request.stopSequences }),
        },
        { signal: request.signal, timeout: Math.max(1, Math.min(this.config.timeoutMs, request.timeoutMs)) },
      );
      return { content: message.content, stopReason: message.stop_reason, usage: usageOf(message.usage) };
    } catch (error) {
      if (request.signal.aborted) throw request.signal.reason ?? error;
      throw modelError(error);
    }
  }

  /**
   * Whether the API accepts the configured key, for readiness: checked at start-up and at most once a
   * minute after, so a rejected key shows before the first query fails.
   */
  credentialStatus(): Promise<{ ok: boolean; detail?: string }> {
    const now = Date.now();
    if (this.credentialCheck === undefined || now - this.credentialCheck.atMs > CREDENTIAL_CHECK_INTERVAL_MS) {
      const result = this.client.models
        .list({ limit: 1 }, { timeout: 5_000, maxRetries: 0 })
        .then(() => ({ ok: true, detail: this.config.model }))
        .catch((error: unknown) => {
          const mapped = modelError(error);
          return { ok: false, detail: mapped.code === 'CLAUDE_3004' ? 'the model API rejected the API key' : mapped.message };
        });
      this.credentialCheck = { atMs: now, result };
    }
    return this.credentialCheck.result;
  }
}

function usageOf(usage: Anthropic.Usage): TurnUsage {
  return {
    inputTokens: usage.input_tokens,
    outputTokens: usage.output_tokens,
    cacheReadTokens: usage.cache_read_input_tokens ?? 0,
    cacheCreationTokens: usage.cache_creation_input_tokens ?? 0,
  };
}
