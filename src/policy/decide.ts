/**
 * The one access decision. For an identity's roles and a (server, tool) it answers
 * hidden | allow | confirm | deny with the reason. It builds the tool lists shown to Claude and to
 * MCP clients, guards every call and decides when a human must confirm. Resources and prompts get
 * their decision here too (hidden | allow | deny: reading runs nothing, so nothing to confirm).
 * Pure: config in, decision out.
 */
import type { GatewayConfig, ItemRule, ToolRule } from '../config/schema.js';

export type Effect = 'hidden' | 'allow' | 'confirm' | 'deny';

export interface Decision {
  readonly effect: Effect;
  readonly reason: string;
}

export interface ToolFacts {
  readonly name: string;
  readonly annotations?: { readonly readOnlyHint?: boolean; readonly destructiveHint?: boolean } | undefined;
}

/**
 * A resource (by its upstream URI, and the URI template it was read through, if any) or a prompt.
 * A resource's rule is the one for its URI, else the one for its template.
 */
export type ItemFacts = { readonly kind: 'resource'; readonly uri: string; readonly template?: string | undefined } | { readonly kind: 'prompt'; readonly name: string };

export interface ServerPolicy {
  readonly roles: readonly string[];
  readonly tools: Readonly<Record<string, ToolRule>>;
  readonly resources: Readonly<Record<string, ItemRule>>;
  readonly prompts: Readonly<Record<string, ItemRule>>;
}

export interface PolicyTable {
  readonly servers: Readonly<Record<string, ServerPolicy>>;
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

/** The steps every kind shares: configured, not hidden, server granted, the rule's roles held. */
function access(roles: readonly string[], server: string, what: string, rule: ItemRule | undefined, table: PolicyTable): Decision | undefined {
  if (rule?.hidden === true) return { effect: 'hidden', reason: `${what} is hidden by config` };
  if (!grantsServer(roles, server, table)) return { effect: 'deny', reason: `no role grants server ${server}` };
  if (rule?.roles !== undefined && !holdsAny(roles, rule.roles)) return { effect: 'deny', reason: `${what} needs one of ${rule.roles.join(', ')}` };
  return undefined;
}

function itemRule(policy: ServerPolicy, item: ItemFacts): ItemRule | undefined {
  if (item.kind === 'prompt') return policy.prompts[item.name];
  return policy.resources[item.uri] ?? (item.template === undefined ? undefined : policy.resources[item.template]);
}

/** The decision for a tool (ToolFacts) or, with `kind`, a resource or a prompt. */
export function decide(roles: readonly string[], server: string, target: ToolFacts | ItemFacts, table: PolicyTable): Decision {
  const serverPolicy = table.servers[server];
  if (serverPolicy === undefined) return { effect: 'hidden', reason: `server ${server} is not configured` };
  if ('kind' in target) {
    const what = target.kind === 'prompt' ? `prompt ${target.name}` : `resource ${target.uri}`;
    return access(roles, server, what, itemRule(serverPolicy, target), table) ?? { effect: 'allow', reason: `server ${server} is granted` };
  }
  const rule = serverPolicy.tools[target.name];
  const denied = access(roles, server, `tool ${target.name}`, rule, table);
  if (denied !== undefined) return denied;
  const { confirm, reason } = needsConfirmation(target, rule, table.confirmDefault);
  return { effect: confirm ? 'confirm' : 'allow', reason };
}

/** Whether a decision lets the caller see (list) the tool at all. */
export function isVisible(decision: Decision): boolean {
  return decision.effect === 'allow' || decision.effect === 'confirm';
}
