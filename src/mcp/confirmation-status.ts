/**
 * `gateway__confirmation_status`: how an MCP client that cannot ask the person itself (no
 * elicitation) learns what became of a confirmation it was given — still pending, rejected, or
 * approved, and then the call's own result. The gateway's own tool, not an upstream one: it is not
 * subject to the tool policy (it runs nothing), it answers only the confirmation's owner (anyone else
 * is told it does not exist), and it is listed only to users who can see a tool that needs confirmation.
 */
import type { CallToolResult, Tool } from '@modelcontextprotocol/server';
import type { Identity } from '../auth/identity.js';
import { toGatewayError } from '../errors.js';
import type { ToolGate } from '../gate/tool-gate.js';

export const STATUS_TOOL = 'gateway__confirmation_status';

export const statusToolDefinition: Tool = {
  name: STATUS_TOOL,
  title: 'Confirmation status',
  description:
    'What became of an action that needed a person\'s confirmation: still pending, rejected, or approved — and then the result of the action itself. ' +
    'Pass the confirmationId a tool call returned.',
  inputSchema: { type: 'object', properties: { confirmationId: { type: 'string', minLength: 1, description: 'The id a tool call returned with confirmationRequired' } }, required: ['confirmationId'] },
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
};

function answer(text: string, structured: Record<string, unknown>, isError = false): CallToolResult {
  return { content: [{ type: 'text', text }], structuredContent: structured, ...(isError ? { isError } : {}) };
}

export async function confirmationStatus(gate: ToolGate, identity: Identity, args: Record<string, unknown>): Promise<CallToolResult> {
  const id = args.confirmationId;
  if (typeof id !== 'string' || id === '') {
    return answer('MCP_2006: The tool arguments do not match its input schema (confirmationId: a non-empty string)', { code: 'MCP_2006' }, true);
  }
  try {
    const status = await gate.confirmations.status(identity, id);
    if (status.state === 'pending') {
      const { expiresAt } = status.pending;
      return answer(
        `Confirmation ${id} is still waiting for a decision: approve or reject it through the console or POST /api/confirmations/${id} before ${expiresAt}.`,
        { confirmationId: id, status: 'pending', expiresAt },
      );
    }
    if (status.state === 'rejected') return answer(`Confirmation ${id} was rejected: the action did not run.`, { confirmationId: id, status: 'rejected' });
    const { outcome } = status;
    if (outcome?.result !== undefined) return outcome.result as CallToolResult;
    if (outcome?.error !== undefined) return answer(`${outcome.error.code}: ${outcome.error.message}`, { confirmationId: id, status: 'approved', error: outcome.error }, true);
    return answer(`Confirmation ${id} was approved; the action is running, or its result is no longer kept.`, { confirmationId: id, status: 'approved' });
  } catch (error) {
    const failure = toGatewayError(error);
    return answer(`${failure.code}: ${failure.message}`, { code: failure.code }, true);
  }
}
