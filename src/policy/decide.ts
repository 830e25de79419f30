/**
 * The one access decision. For an identity's roles and a (server, tool) it answers
 * hidden | allow | confirm | deny with the reason. It builds the tool lists shown to Claude and to
 * MCP clients, guards every call and decides when a human must confirm. Pure: config in, decision out.
 */
import type { GatewayConfig, ToolRule } from '../config/schema.js';

export type Effect = 'hidden' | 'allow' | 'confirm' | 'deny';

export interface Decision {
  readonly effect: Effect;
  readonly reason: string;
}

export interface ToolFacts {
  readonly name: string;
  readonly annotations?: { readonly readOnlyHint?: boolean; readonly destructiveHint?: boolean } | undefined;
}

export interface PolicyTable {
  readonly servers: Readonly<Record<string, { readonly roles: readonly string[]; readonly tools: Readonly<Record<string, ToolRule>> }>>;
  readonly confirmDefault: GatewayConfig['confirmations']['defaultRule'];
}

export function policyTable(config: Pick<GatewayConfig, 'servers' | 'confirmations'>): PolicyTable {
  return { servers: config.servers, confirmDefault: config.confirmations.defaultRule };
}

function holdsAny(roles: readonly string[], wanted: readonly string[]): boolean {
  return wanted.some((role) => roles.includes(role));
}

function needsConfirmation(tool: ToolFacts, rule: ToolRule | undefined, confirmDefault: PolicyTable['confirmDefault']): { confirm: boolean; reason: string } {
  if (rule?.confirm !== undefined) return { confirm: rule.confirm, reason: `config ${rule.confirm ? 'requires' : 'waives'} confirmation` };
  if (confirmDefault !== 'annotations') return { confirm: confirmDefault === 'always', reason: `confirmation rule ${confirmDefault}` };
  if (tool.annotations?.destructiveHint === true) return { confirm: true, reason: 'tool is annotated destructive' };
  if (tool.annotations?.readOnlyHint !== true) return { confirm: true, reason: 'tool is not annotated read-only' };
  return { confirm: false, reason: 'tool is read-only' };
}

/** Whether any of the roles grants the server at all (before per-tool rules). */
export function grantsServer(roles: readonly string[], server: string, table: PolicyTable): boolean {
  const serverPolicy = table.servers[server];
  return serverPolicy !== undefined && holdsAny(roles, serverPolicy.roles);
}

export function decide(roles: readonly string[], server: string, tool: ToolFacts, table: PolicyTable): Decision {
  const serverPolicy = table.servers[server];
  if (serverPolicy === undefined) return { effect: 'hidden', reason: `server ${server} is not configured` };
  const rule = serverPolicy.tools[tool.name];
  if (rule?.hidden === true) return { effect: 'hidden', reason: `tool ${tool.name} is hidden by config` };
  if (!grantsServer(roles, server, table)) return { effect: 'deny', reason: `no role grants server ${server}` };
  if (rule?.roles !== undefined && !holdsAny(roles, rule.roles)) return { effect: 'deny', reason: `tool ${tool.name} needs one of ${rule.roles.join(', ')}` };
  const { confirm, reason } = needsConfirmation(tool, rule, table.confirmDefault);
  return { effect: confirm ? 'confirm' : 'allow', reason };
}

/** Whether a decision lets the caller see (list) the tool at all. */
export function isVisible(decision: Decision): boolean {
  return decision.effect === 'allow' || decision.effect === 'confirm';
}
