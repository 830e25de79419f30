/**
 * The upstream layer as the rest of the gateway sees it: which tools an identity may see, the
 * policy decision for one tool, and the guarded call itself (argument validation, identity
 * assertion, trace context, resilience, metrics, audit). The only way into upstream/: every call
 * reaches it through the tool gate (src/gate), which authorizes and applies the policy first.
 */
import type { CallToolResult } from '@modelcontextprotocol/client';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { FastifyBaseLogger } from 'fastify';
import { accessTokenOf } from '../auth/access-token.js';
import type { Identity } from '../auth/identity.js';
import type { GatewayConfig } from '../config/schema.js';
import { GatewayError } from '../errors.js';
import { actorOf, type AuditLog } from '../ops/audit.js';
import type { Metrics } from '../ops/metrics.js';
import { childTraceContext, parentContext, tracer } from '../ops/tracing.js';
import { decide, grantsServer, isVisible, policyTable, type Decision, type PolicyTable } from '../policy/decide.js';
import type { Store } from '../store/types.js';
import { ArgumentValidator } from './argument-validator.js';
import type { Caller, CallRelay } from './call-context.js';
import { Catalogue, type CatalogueTool } from './catalogue.js';
import { ContentService } from './content-service.js';
import { ServerCredentials } from './credentials.js';
import type { AssertionSigner } from './identity-assertion.js';
import { UpstreamServer } from './upstream-server.js';
import { UpstreamSignals, type ListKind } from './upstream-signals.js';

/** The identity the gateway uses for its own traffic (listing tools): no roles, never a user. */
const SERVICE_IDENTITY: Identity = Object.freeze({
  sub: 'mcp-gateway',
  username: 'mcp-gateway',
  email: undefined,
  roles: Object.freeze([]),
  sid: undefined,
  jti: undefined,
  exp: Number.MAX_SAFE_INTEGER,
  iat: undefined,
});
const SERVICE_CALLER: Caller = Object.freeze({ identity: SERVICE_IDENTITY, accessToken: undefined, service: true });

const MAX_ROLE_SETS = 1_000;

/** The same roles in any order give the same key. */
export function roleSetKey(roles: readonly string[]): string {
  return [...roles].sort().join('\u0000');
}

export interface VisibleTool {
  readonly tool: CatalogueTool;
  readonly decision: Decision;
}

export interface CallOptions {
  signal?: AbortSignal | undefined;
  requestId: string;
  /** The caller's W3C traceparent, if any. */
  traceparent?: string | undefined;
  runId?: string;
  confirmationId?: string;
  /** Progress the upstream reports while the tool runs (it also extends the call's deadline). */
  onProgress?: (progress: { progress: number; total?: number; message?: string }) => void;
  /** Log messages and requests the upstream sends during the call go to this caller. */
  relay?: CallRelay | undefined;
}

export class ToolService {
  readonly catalogue: Catalogue;
  /** Resources, prompts and completions of the same servers (reached through the resource gate). */
  readonly content: ContentService;
  /** List changes (after the catalogues took them in), resource updates and reconnections of the upstreams. */
  readonly signals = new UpstreamSignals();
  private readonly servers = new Map<string, UpstreamServer>();
  private readonly validator: ArgumentValidator = new ArgumentValidator();
  private readonly table: PolicyTable;
  /** Visible tools per role set, valid for one catalogue version (the policy depends on roles only). */
  private readonly visibleByRoles = new Map<string, { version: number; tools: readonly VisibleTool[] }>();

  constructor(
    private readonly config: GatewayConfig,
    private readonly signer: AssertionSigner,
    store: Store,
    private readonly metrics: Metrics,
    private readonly audit: AuditLog,
    private readonly log: FastifyBaseLogger,
  ) {
    this.table = policyTable(config);
    for (const [name, serverConfig] of Object.entries(config.servers)) {
      const credentials = new ServerCredentials(name, serverConfig, { signer, upstream: config.upstream, auth: config.auth }, SERVICE_CALLER);
      this.servers.set(
        name,
        new UpstreamServer(name, serverConfig, config.upstream, metrics, log, credentials, SERVICE_CALLER, {
          listChanged: (kind) => void this.onListChanged(name, kind),
          resourceUpdated: (uri) => this.signals.resourceUpdated(name, uri),
          connected: () => this.signals.connected(name),
        }),
      );
    }
    this.catalogue = new Catalogue(this.servers, config.upstream, store, metrics, log, SERVICE_CALLER);
    this.content = new ContentService(this.servers, this.table, audit, config.upstream, log, SERVICE_CALLER, this.signals);
  }

  /** An upstream's list changed: the catalogue holding it re-lists that server, then the change is passed on. */
  private async onListChanged(server: string, kind: ListKind): Promise<void> {
    await (kind === 'tools' ? this.catalogue.refresh(server) : this.content.catalogue.refresh(server));
    this.signals.listChanged(kind, server);
  }

  /** Starts stdio servers and the catalogue's first listing; never blocks. */
  start(): void {
    for (const server of this.servers.values()) server.start();
    this.catalogue.start();
    this.content.catalogue.start();
  }

  async close(): Promise<void> {
    this.catalogue.stop();
    await this.content.close();
    await Promise.all([...this.servers.values()].map((server) => server.close()));
  }

  serverStatus(name: string): { ok: boolean; detail?: string; connecting?: boolean } {
    return this.servers.get(name)?.status() ?? { ok: false, detail: 'not configured' };
  }

  decisionFor(identity: Identity, tool: CatalogueTool): Decision {
    return decide(identity.roles, tool.server, tool, this.table);
  }

  /** Tools this identity may see (allow or confirm), in the catalogue's deterministic order. */
  visibleTools(identity: Identity): readonly VisibleTool[] {
    const key = roleSetKey(identity.roles);
    const version = this.catalogue.version;
    const cached = this.visibleByRoles.get(key);
    if (cached?.version === version) return cached.tools;
    const tools = this.catalogue
      .tools()
      .map((tool) => ({ tool, decision: this.decisionFor(identity, tool) }))
      .filter(({ decision }) => isVisible(decision));
    // Role sets are few in practice; a flood of distinct ones only costs recomputation.
    if (this.visibleByRoles.size >= MAX_ROLE_SETS) this.visibleByRoles.clear();
    this.visibleByRoles.set(key, { version, tools });
    return tools;
  }

  /** Servers the identity's roles grant, whether or not they are up. */
  grantedServers(identity: Identity): string[] {
    return this.catalogue.serverNames().filter((server) => grantsServer(identity.roles, server, this.table));
  }

  /** Validates arguments against the tool's schema without calling anything. */
  validateArguments(tool: CatalogueTool, args: unknown): asserts args is Record<string, unknown> {
    this.validator.validate(tool.fingerprint, tool.inputSchema, args);
  }

  /**
   * Calls a tool the gate has authorised for the caller (the confirmation step, if any, already done).
   * Returns the upstream CallToolResult, which may itself report a tool-level error (isError).
   */
  async call(identity: Identity, visible: VisibleTool, args: Record<string, unknown>, options: CallOptions): Promise<CallToolResult> {
    const { tool, decision } = visible;
    this.validateArguments(tool, args);
    const upstream = this.servers.get(tool.server);
    if (upstream === undefined) throw new GatewayError('MCP_2004', { details: { server: tool.server } });
    const annotations = tool.annotations;
    const safeToRepeat = annotations?.readOnlyHint === true || annotations?.idempotentHint === true;
    const started = performance.now();
    return tracer.startActiveSpan(`mcp.tools/call ${tool.server}/${tool.name}`, { kind: SpanKind.CLIENT }, parentContext(options.traceparent), async (span) => {
      const trace = childTraceContext(options.traceparent, span);
      let outcome = 'error';
      try {
        const caller: Caller = { identity, accessToken: accessTokenOf(identity), service: false };
        const headers = { 'x-request-id': options.requestId, traceparent: trace.traceparent };
        const result = await upstream.callTool(tool.name, args, { caller, headers, signal: options.signal, safeToRepeat, onProgress: options.onProgress, relay: options.relay });
        outcome = result.isError === true ? 'tool_error' : 'ok';
        return result;
      } catch (error) {
        outcome = options.signal?.aborted === true ? 'cancelled' : error instanceof GatewayError ? error.code : 'error';
        throw error;
      } finally {
        const durationMs = performance.now() - started;
        span.setAttributes({ 'mcp.server': tool.server, 'mcp.tool': tool.name, 'mcp.outcome': outcome, 'enduser.id': identity.sub });
        if (outcome !== 'ok' && outcome !== 'tool_error') span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
        span.end();
        this.metrics.toolCalls.inc({ server: tool.server, tool: tool.name, outcome });
        this.metrics.toolCallDuration.observe({ server: tool.server }, durationMs / 1000);
        this.audit.record({
          event: 'tool_call',
          ...actorOf(identity),
          server: tool.server,
          tool: tool.name,
          arguments: args,
          decision: decision.effect,
          reason: decision.reason,
          outcome,
          durationMs: Math.round(durationMs),
          traceId: trace.traceId,
          requestId: options.requestId,
          runId: options.runId,
          confirmationId: options.confirmationId,
        });
      }
    });
  }
}
