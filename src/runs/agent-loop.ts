/**
 * One agent run's Claude tool-use loop: stream a model turn, run the tool calls it asks for (in
 * parallel, through the upstream layer and the policy), feed the results back, until the model ends
 * its turn, the iteration limit, the deadline — or a tool call needs a human, which pauses the run
 * with its state in the store so any replica can resume it.
 */
import type Anthropic from '@anthropic-ai/sdk';
import { SpanStatusCode } from '@opentelemetry/api';
import type { FastifyBaseLogger } from 'fastify';
import type { Identity } from '../auth/identity.js';
import type { GatewayConfig } from '../config/schema.js';
import { GatewayError, toGatewayError } from '../errors.js';
import type { AnthropicProvider } from '../llm/anthropic-provider.js';
import type { Metrics } from '../ops/metrics.js';
import { tracer } from '../ops/tracing.js';
import { tierFor } from '../policy/rate-tier.js';
import type { GatePass, ToolGate } from '../gate/tool-gate.js';
import type { ToolService, VisibleTool } from '../upstream/tool-service.js';
import { confirmationToolView } from './confirmation-view.js';
import type { Conversations } from './conversations.js';
import type { RunEvent, RunStatus } from './events.js';
import { frameToolResult, framedFailure, modelTools, systemBlocks, type FramedResult } from './model-tools.js';
import { whileUnavailable, type RunJournals } from './run-journal.js';
import type { PendingToolUse, RunState } from './run-store.js';
import type { RunRelays } from './run-relay.js';
import type { TokenBudget } from './token-budget.js';

export interface LoopDependencies {
  journals: RunJournals;
  tools: ToolService;
  /** Every tool call of a run goes through the gate (authorize → validate → policy → call → audit). */
  gate: ToolGate;
  model: AnthropicProvider;
  conversations: Conversations;
  budget: TokenBudget;
  /** Where a tool server's elicitation and sampling requests during a run's tool call go. */
  relays: RunRelays;
  config: GatewayConfig;
  metrics: Metrics;
  log: FastifyBaseLogger;
}

export type LoopOutcome = { kind: 'paused'; confirmationId: string; expiresAt: string } | { kind: 'finished'; status: RunStatus };

export const DECLINED_MESSAGE = 'The user declined this action; it was not performed.';

export class AgentLoop {
  private readonly serverDescriptions: Record<string, string>;

  constructor(private readonly deps: LoopDependencies) {
    this.serverDescriptions = Object.fromEntries(Object.entries(deps.config.servers).map(([name, server]) => [name, server.description]));
  }

  /** Logs an event: through the run's journal where this replica drives it (see run-journal.ts). */
  emit(runId: string, event: RunEvent): Promise<string> {
    return this.deps.journals.emit(runId, event);
  }

  /** Drives the run from its saved state until it finishes or pauses; aborting `signal` cancels it. */
  async drive(state: RunState, identity: Identity, signal: AbortSignal): Promise<LoopOutcome> {
    const { config, model } = this.deps;
    for (;;) {
      signal.throwIfAborted();
      if (state.iteration >= config.limits.maxIterations) {
        await this.emit(state.id, { type: 'warning', data: { code: 'MAX_ITERATIONS', message: `Stopped after ${config.limits.maxIterations} model turns` } });
        return this.finish(state, 'completed', 'max_iterations');
      }
      const remainingMs = state.deadlineAtMs - Date.now();
      if (remainingMs <= 0) return this.fail(state, new GatewayError('RUN_6003'));

      const visible = this.visibleTools(identity);
      const turn = await tracer.startActiveSpan('claude.messages.stream', async (span) => {
        span.setAttributes({ 'gen_ai.request.model': model.model, 'run.id': state.id, 'run.iteration': state.iteration, 'run.tools': visible.length });
        try {
          const result = await model.streamTurn(
            { system: systemBlocks(config.llm.systemPrompt), tools: modelTools(visible, this.serverDescriptions), messages: state.messages, timeoutMs: remainingMs, signal },
            async (delta) => {
              await this.emit(state.id, { type: 'text', data: { delta } });
            },
          );
          span.setAttributes({
            'gen_ai.response.finish_reason': result.stopReason ?? 'none',
            'gen_ai.usage.input_tokens': result.usage.inputTokens,
            'gen_ai.usage.output_tokens': result.usage.outputTokens,
          });
          return result;
        } catch (error) {
          span.recordException(error instanceof Error ? error : String(error));
          span.setStatus({ code: SpanStatusCode.ERROR });
          throw error;
        } finally {
          span.end();
        }
      });
      await this.recordUsage(state, turn.usage);
      state.messages.push({ role: 'assistant', content: turn.content as Anthropic.ContentBlockParam[] });
      state.iteration += 1;

      if (turn.stopReason !== 'tool_use') return this.finish(state, 'completed', turn.stopReason);
      const toolUses = turn.content.filter((block): block is Anthropic.ToolUseBlock => block.type === 'tool_use');
      const outcome = await this.runToolUses(state, identity, toolUses.map(toPending), [], visible, signal);
      if (outcome !== undefined) return outcome;
    }
  }

  /**
   * Runs a turn's tool calls through the gate: allowed ones concurrently, then the first one needing
   * confirmation (whose arguments pass validation) pauses the run; the rest wait in the saved state.
   * Returns undefined when the loop should go on.
   */
  async runToolUses(
    state: RunState,
    identity: Identity,
    toolUses: PendingToolUse[],
    resultsSoFar: Anthropic.ToolResultBlockParam[],
    visible: VisibleTool[],
    signal: AbortSignal,
  ): Promise<LoopOutcome | undefined> {
    const byName = new Map(visible.map((entry) => [entry.tool.qualifiedName, entry]));
    const authorized = await Promise.all(toolUses.map((use) => this.authorizeUse(identity, use, byName.get(use.name))));
    const needConfirmation = authorized.filter((entry) => entry.visible?.decision.effect === 'confirm');
    const immediate = authorized.filter((entry) => entry.visible?.decision.effect !== 'confirm');
    const results = [...resultsSoFar, ...(await Promise.all(immediate.map((entry) => this.callAuthorized(state, identity, entry, signal))))];

    for (const [index, entry] of needConfirmation.entries()) {
      let pass: GatePass;
      try {
        pass = await this.deps.gate.check(identity, { server: entry.server, tool: entry.toolName }, entry.use.input);
      } catch {
        // Arguments that fail validation never reach a person: the call fails like any refused one.
        results.push(await this.callAuthorized(state, identity, entry, signal));
        continue;
      }
      const rest = needConfirmation.slice(index + 1).map((later) => later.use);
      return this.pause(state, identity, entry.use, rest, results, pass, signal);
    }
    state.messages.push({ role: 'user', content: results });
    state.paused = undefined;
    state.status = 'running';
    await this.deps.journals.saveState(state);
    return undefined;
  }

  /**
   * Calls one tool through the gate (an approved call's arguments are validated again) and reports
   * it; failures become error results the model can read, not run failures.
   */
  async callTool(state: RunState, identity: Identity, use: PendingToolUse, visible: VisibleTool | undefined, signal: AbortSignal, confirmationId?: string): Promise<Anthropic.ToolResultBlockParam> {
    return this.callAuthorized(state, identity, await this.authorizeUse(identity, use, visible), signal, confirmationId);
  }

  /** The gate's authorization of one tool use: the tool and decision, or the failure the model will read. */
  private async authorizeUse(identity: Identity, use: PendingToolUse, offered: VisibleTool | undefined): Promise<AuthorizedUse> {
    const server = offered?.tool.server ?? 'unknown';
    const toolName = offered?.tool.name ?? use.name;
    if (offered === undefined) return { use, server, toolName, failure: `No tool named ${use.name} is available to this user.` };
    try {
      return { use, server, toolName, visible: await this.deps.gate.authorize(identity, { server, tool: toolName }) };
    } catch (error) {
      const failure = toGatewayError(error);
      return { use, server, toolName, failure: `The call was refused (${failure.code}): ${failure.message}` };
    }
  }

  private async callAuthorized(state: RunState, identity: Identity, entry: AuthorizedUse, signal: AbortSignal, confirmationId?: string): Promise<Anthropic.ToolResultBlockParam> {
    const { use, server, toolName } = entry;
    if (confirmationId === undefined) {
      await this.emit(state.id, { type: 'tool_call', data: { callId: use.id, server, tool: toolName, arguments: use.input } });
    }
    const started = performance.now();
    let framed: FramedResult;
    if (entry.failure !== undefined) {
      framed = framedFailure(server, toolName, entry.failure);
    } else {
      const input = this.deps.relays.open({ runId: state.id, callId: use.id, server, tool: toolName, identity, deadlineAtMs: state.deadlineAtMs }, signal);
      try {
        const pass = await this.deps.gate.check(identity, { server, tool: toolName }, use.input);
        const result = await this.deps.gate.execute(identity, pass, { requestId: state.id, runId: state.id, confirmationId, signal, relay: input.relay });
        framed = frameToolResult(server, toolName, result, this.deps.config.limits.maxToolResultBytes);
      } catch (error) {
        signal.throwIfAborted();
        const failure = toGatewayError(error);
        framed = framedFailure(server, toolName, `The call failed (${failure.code}): ${failure.message}`);
      } finally {
        input.close();
      }
    }
    if (framed.truncated) {
      await this.emit(state.id, { type: 'warning', data: { code: 'TOOL_RESULT_TRUNCATED', message: `${server}/${toolName} returned more than ${this.deps.config.limits.maxToolResultBytes} bytes; the model saw the beginning` } });
    }
    await this.emit(state.id, {
      type: 'tool_result',
      data: { callId: use.id, ok: !framed.isError, isError: framed.isError, durationMs: Math.round(performance.now() - started), truncated: framed.truncated, summary: framed.summary },
    });
    return { type: 'tool_result', tool_use_id: use.id, content: framed.content, ...(framed.isError ? { is_error: true } : {}) };
  }

  /** The tools offered to the model: what the policy shows this user, on servers that answer. */
  visibleTools(identity: Identity): VisibleTool[] {
    const { tools } = this.deps;
    return tools.visibleTools(identity).filter(({ tool }) => tools.catalogue.isAvailable(tool.server));
  }

  /** One tool as the policy sees it for this identity now; undefined when it is no longer allowed. */
  async visibleFor(identity: Identity, server: string, tool: string): Promise<VisibleTool | undefined> {
    try {
      return await this.deps.gate.authorize(identity, { server, tool });
    } catch (error) {
      if (error instanceof GatewayError) return undefined;
      throw error;
    }
  }

  /** The declined call's result for the model. */
  declined(use: PendingToolUse): Anthropic.ToolResultBlockParam {
    return { type: 'tool_result', tool_use_id: use.id, content: DECLINED_MESSAGE, is_error: true };
  }

  async finish(state: RunState, status: RunStatus, stopReason: string | null): Promise<LoopOutcome> {
    state.status = status;
    state.paused = undefined;
    await this.deps.journals.saveState(state);
    if (status === 'completed') {
      const messages = [...state.messages];
      await this.deps.journals.write(state.id, () => this.deps.conversations.save(state.sub, state.conversationId, messages));
    }
    await this.emit(state.id, { type: 'done', data: { status, stopReason } });
    this.deps.metrics.runs.inc({ status });
    return { kind: 'finished', status };
  }

  async fail(state: RunState, error: GatewayError): Promise<LoopOutcome> {
    await this.emit(state.id, { type: 'error', data: error.toObject(state.id) });
    return this.finish(state, 'failed', error.code);
  }

  private async pause(
    state: RunState,
    identity: Identity,
    use: PendingToolUse,
    remaining: PendingToolUse[],
    results: Anthropic.ToolResultBlockParam[],
    pass: GatePass,
    signal: AbortSignal,
  ): Promise<LoopOutcome> {
    // A pause must be durable before anyone can act on it: the log and state so far, the pending
    // confirmation, then the paused state. Each waits out a short outage, then fails the run (9002).
    const { journals, config } = this.deps;
    await journals.durable(state.id);
    const pending = await whileUnavailable(
      () => this.deps.gate.requestConfirmation(identity, pass, { requestId: state.id, runId: state.id, callId: use.id, signal }),
      config.runs.leaseTtlMs,
    );
    state.paused = { confirmationId: pending.id, expiresAt: pending.expiresAt, toolUse: use, remaining, results };
    state.status = 'awaiting_confirmation';
    await journals.saveState(state);
    await journals.durable(state.id);
    await this.emit(state.id, { type: 'tool_call', data: { callId: use.id, server: pending.server, tool: pending.tool, arguments: use.input } });
    await this.emit(state.id, {
      type: 'confirmation_required',
      data: {
        confirmationId: pending.id,
        callId: use.id,
        server: pending.server,
        tool: pending.tool,
        arguments: use.input,
        expiresAt: pending.expiresAt,
        ...confirmationToolView(pass.tool),
        ...(pending.preview === undefined ? {} : { preview: pending.preview }),
      },
    });
    return { kind: 'paused', confirmationId: pending.id, expiresAt: pending.expiresAt };
  }

  private async recordUsage(state: RunState, usage: { inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheCreationTokens: number }): Promise<void> {
    const { metrics, budget } = this.deps;
    metrics.llmTokens.inc({ kind: 'input' }, usage.inputTokens);
    metrics.llmTokens.inc({ kind: 'output' }, usage.outputTokens);
    metrics.llmTokens.inc({ kind: 'cache_read' }, usage.cacheReadTokens);
    metrics.llmTokens.inc({ kind: 'cache_creation' }, usage.cacheCreationTokens);
    await this.emit(state.id, { type: 'usage', data: usage });
    // Counted behind the run's events: a store outage delays the count, it does not fail the run.
    const tokens = usage.inputTokens + usage.outputTokens + usage.cacheCreationTokens;
    await this.deps.journals.write(state.id, () => budget.record(state.sub, tokens));
  }

  /** For the route: refuses a run that would start with the user's daily token budget spent. */
  assertBudget(identity: Identity): Promise<void> {
    return this.deps.budget.assertAvailable(identity, tierFor(identity.roles, this.deps.config.limits.tiers));
  }
}

/** One tool use after the gate authorized it: the tool and decision, or the reason it was refused. */
interface AuthorizedUse {
  use: PendingToolUse;
  server: string;
  toolName: string;
  visible?: VisibleTool;
  failure?: string;
}

function toPending(block: Anthropic.ToolUseBlock): PendingToolUse {
  const input = block.input !== null && typeof block.input === 'object' && !Array.isArray(block.input) ? (block.input as Record<string, unknown>) : {};
  return { id: block.id, name: block.name, input };
}
