/**
 * The tool gate: the one way a tool is called, whichever path asks — the REST API, the gateway's own
 * MCP endpoint, or an agent run. Every call passes the same steps in the same order:
 *
 *   authorize (the server is configured and granted, the tool exists and the policy shows it)
 *   → validate the arguments against the tool's input schema
 *   → policy (`allow` runs now; `confirm` waits for a person)
 *   → call upstream (through ToolService, the only way into upstream/) and audit.
 *
 * A tool the caller may not use answers exactly like one that does not exist (404 `MCP_2005`, or
 * `MCP_2004` for a server), so names do not leak across role boundaries. Confirmations live beside the
 * gate: a `confirm` decision creates one; an approval runs the call only after it has passed the
 * gate again under the approver's current roles and with the confirmed arguments.
 */
import type { CallToolResult } from '@modelcontextprotocol/client';
import type { Identity } from '../auth/identity.js';
import { GatewayError, toGatewayError } from '../errors.js';
import type { CallOptions, ToolService, VisibleTool } from '../upstream/tool-service.js';
import type { ConfirmationPreviews } from './confirmation-preview.js';
import type { ConfirmationDecision, Confirmations, PendingConfirmation } from './confirmations.js';

/** A tool by its server and upstream name, or by the qualified name the caller was shown. */
export type ToolTarget = { readonly server: string; readonly tool: string } | string;

/** A call that passed authorization, validation and policy: what remains is to confirm or to run it. */
export interface GatePass extends VisibleTool {
  readonly arguments: Record<string, unknown>;
}

export type GateOutcome = { readonly kind: 'result'; readonly result: CallToolResult } | { readonly kind: 'confirmation'; readonly pending: PendingConfirmation };

export interface GateCallOptions extends CallOptions {
  /** The agent run (and its tool-use id) a confirmation would pause. */
  callId?: string;
}

export class ToolGate {
  constructor(
    readonly tools: ToolService,
    readonly confirmations: Confirmations,
    private readonly previews: ConfirmationPreviews,
  ) {}

  /** authorize → validate → policy, then either a confirmation to wait for or the upstream result. */
  async call(identity: Identity, target: ToolTarget, args: unknown, options: GateCallOptions): Promise<GateOutcome> {
    const pass = await this.check(identity, target, args);
    if (pass.decision.effect === 'confirm') return { kind: 'confirmation', pending: await this.requestConfirmation(identity, pass, options) };
    return { kind: 'result', result: await this.execute(identity, pass, options) };
  }

  /** The tool and the policy decision for this caller; anything they may not use is "not found". */
  async authorize(identity: Identity, target: ToolTarget): Promise<VisibleTool> {
    const { tools } = this;
    const address = typeof target === 'string' ? this.resolve(target) : target;
    if (!tools.grantedServers(identity).includes(address.server)) throw new GatewayError('MCP_2004', { details: { server: address.server } });
    let tool = tools.catalogue.find(address.server, address.tool);
    if (tool === undefined && !tools.catalogue.isAvailable(address.server)) {
      // The catalogue may not have reached this server yet (start-up, or it was down): try once now.
      await tools.catalogue.refresh(address.server);
      tool = tools.catalogue.find(address.server, address.tool);
      if (tool === undefined && !tools.catalogue.isAvailable(address.server)) throw new GatewayError('MCP_2003', { details: { server: address.server } });
    }
    const decision = tool === undefined ? undefined : tools.decisionFor(identity, tool);
    if (tool === undefined || decision === undefined || (decision.effect !== 'allow' && decision.effect !== 'confirm')) {
      throw new GatewayError('MCP_2005', { details: { server: address.server, tool: address.tool } });
    }
    return { tool, decision };
  }

  /** authorize → validate → policy, without running anything. */
  async check(identity: Identity, target: ToolTarget, args: unknown): Promise<GatePass> {
    const visible = await this.authorize(identity, target);
    const checked = args ?? {};
    this.tools.validateArguments(visible.tool, checked);
    return { ...visible, arguments: checked };
  }

  /** Runs a call that passed the gate (and, when it needed one, a person's approval); audited upstream-side. */
  execute(identity: Identity, pass: GatePass, options: CallOptions): Promise<CallToolResult> {
    return this.tools.call(identity, pass, pass.arguments, options);
  }

  /**
   * Creates the confirmation a `confirm` decision waits for (bound to owner, tool and arguments), with
   * its preview when one is configured: read first, through this gate, as the caller.
   */
  async requestConfirmation(
    identity: Identity,
    pass: GatePass,
    options: Pick<GateCallOptions, 'requestId' | 'runId' | 'callId' | 'signal' | 'traceparent'>,
  ): Promise<PendingConfirmation> {
    const preview = await this.previews.of(this, identity, pass, options);
    return this.confirmations.create(
      identity,
      { server: pass.tool.server, tool: pass.tool.name, arguments: pass.arguments, ...(options.runId === undefined ? {} : { runId: options.runId, callId: options.callId }), preview },
      { reason: pass.decision.reason, requestId: options.requestId },
    );
  }

  /** Takes a person's decision on a confirmation (single use; owner only). */
  decide(identity: Identity, id: string, decision: ConfirmationDecision, requestId: string): Promise<PendingConfirmation> {
    return this.confirmations.decide(identity, id, decision, requestId);
  }

  /**
   * Runs an approved call that pauses no run: it passes the gate again under the approver's current
   * roles (they may have changed) with exactly the confirmed arguments.
   */
  async runApproved(identity: Identity, pending: PendingConfirmation, options: CallOptions): Promise<CallToolResult> {
    let result: CallToolResult;
    try {
      const pass = await this.check(identity, { server: pending.server, tool: pending.tool }, pending.arguments);
      result = await this.execute(identity, pass, { ...options, confirmationId: pending.id });
    } catch (error) {
      const failure = toGatewayError(error);
      await this.keepOutcome(identity, pending.id, { error: { code: failure.code, message: failure.message } });
      throw error;
    }
    await this.keepOutcome(identity, pending.id, { result });
    return result;
  }

  /** The owner may collect the outcome later (gateway__confirmation_status); losing it never fails the call. */
  private async keepOutcome(identity: Identity, id: string, outcome: { result?: CallToolResult; error?: { code: string; message: string } }): Promise<void> {
    await this.confirmations.recordOutcome(identity, id, outcome).catch(() => undefined);
  }

  private resolve(qualifiedName: string): { server: string; tool: string } {
    const tool = this.tools.catalogue.resolve(qualifiedName);
    if (tool === undefined) throw new GatewayError('MCP_2005', { details: { tool: qualifiedName } });
    return { server: tool.server, tool: tool.name };
  }
}
