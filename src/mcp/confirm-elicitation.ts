/**
 * Confirmations asked through elicitation, for /mcp clients that support it: instead of a
 * confirmation id to approve elsewhere, the person is asked in their own client what would run (tool,
 * server, what it does, the exact arguments) and answers there. Approving takes the same decision the
 * REST API takes (owner only, single use, audited) and the call runs in the same tools/call; anything
 * else (decline, cancel, not ticking the box) rejects it.
 */
import type { ElicitResult, InputRequest } from '@modelcontextprotocol/server';
import { inputRequired } from '@modelcontextprotocol/server';
import type { Identity } from '../auth/identity.js';
import type { PendingConfirmation } from '../gate/confirmations.js';
import type { ToolGate } from '../gate/tool-gate.js';
import type { ToolService } from '../upstream/tool-service.js';

/** The round state of a confirmation being asked: its id and the tool name the client called. */
export interface ConfirmationRound {
  readonly kind: 'confirm';
  readonly id: string;
  readonly tool: string;
}

export type ConfirmationAnswer =
  | { readonly kind: 'approved'; readonly pending: PendingConfirmation }
  | { readonly kind: 'rejected' }
  /** No usable answer came back: ask again (the confirmation is still pending). */
  | { readonly kind: 'ask'; readonly pending: PendingConfirmation };

export function confirmationRequest(pending: PendingConfirmation, tools: ToolService): InputRequest {
  const tool = tools.catalogue.find(pending.server, pending.tool);
  const what = tool?.description === undefined || tool.description === '' ? '' : `\nWhat it does: ${tool.description}`;
  // The preview (servers.*.tools.*.preview) says what the arguments refer to, e.g. the employee's name.
  const about = pending.preview === undefined ? '' : `\nAbout: ${pending.preview}`;
  return inputRequired.elicit({
    message:
      `The assistant wants to run "${tool?.qualifiedName ?? pending.tool}" (tool ${pending.tool} on server ${pending.server}), ` +
      `which needs your confirmation.${what}${about}\nArguments: ${JSON.stringify(pending.arguments, null, 2)}\nRun it?`,
    requestedSchema: {
      type: 'object',
      properties: { approve: { type: 'boolean', title: 'Run this action', description: 'Tick to run it exactly as shown; leave unticked or decline to refuse.', default: false } },
      required: ['approve'],
    },
  });
}

/** Reads the person's answer and takes the decision (as the owner; a second decision is refused). */
export async function confirmationAnswer(
  gate: ToolGate,
  identity: Identity,
  round: ConfirmationRound,
  responses: Record<string, unknown> | undefined,
  requestId: string,
): Promise<ConfirmationAnswer> {
  const answer = responses?.confirm as Partial<ElicitResult> | undefined;
  if (answer === undefined || typeof answer !== 'object' || typeof answer.action !== 'string') {
    return { kind: 'ask', pending: await gate.confirmations.get(identity, round.id) };
  }
  const approve = answer.action === 'accept' && (answer.content as { approve?: unknown } | undefined)?.approve === true;
  const pending = await gate.decide(identity, round.id, approve ? 'approve' : 'reject', requestId);
  return approve ? { kind: 'approved', pending } : { kind: 'rejected' };
}
