/**
 * Resources, resource templates, prompts and completions of the upstream servers as the rest of the
 * gateway sees them: what an identity may see (the one policy function, as for tools), and the
 * upstream requests themselves — made as the caller (identity assertion, trace context, resilience)
 * and audited like tool calls. Reached only through the resource gate (src/gate/resource-gate.ts),
 * which resolves names and URIs and applies the policy first.
 */
import type { Client, CompleteRequest, CompleteResult, GetPromptResult, ReadResourceResult } from '@modelcontextprotocol/client';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { FastifyBaseLogger } from 'fastify';
import { accessTokenOf } from '../auth/access-token.js';
import type { Identity } from '../auth/identity.js';
import type { GatewayConfig } from '../config/schema.js';
import { GatewayError } from '../errors.js';
import { actorOf, type AuditLog, type AuditRecord } from '../ops/audit.js';
import { childTraceContext, parentContext, tracer } from '../ops/tracing.js';
import { decide, isVisible, type Decision, type ItemFacts, type PolicyTable } from '../policy/decide.js';
import type { Caller } from './call-context.js';
import { ContentCatalogue, type CataloguePrompt, type CatalogueResource, type CatalogueTemplate } from './content-catalogue.js';
import { ResourceSubscriptions } from './resource-subscriptions.js';
import type { UpstreamSignals } from './upstream-signals.js';
import type { ClientRequestTools, UpstreamServer } from './upstream-server.js';

export interface ContentRequestOptions {
  requestId: string;
  traceparent?: string | undefined;
  signal?: AbortSignal | undefined;
}

/** A resource the gate let through: its server, upstream URI (and template) and the decision. */
export interface ResourceTarget {
  readonly server: string;
  readonly uri: string;
  readonly template?: string | undefined;
  readonly decision: Decision;
}

export interface PromptTarget {
  readonly entry: CataloguePrompt;
  readonly decision: Decision;
}

export class ContentService {
  readonly catalogue: ContentCatalogue;
  readonly subscriptions: ResourceSubscriptions;

  constructor(
    private readonly servers: ReadonlyMap<string, UpstreamServer>,
    private readonly table: PolicyTable,
    private readonly audit: AuditLog,
    config: GatewayConfig['upstream'],
    log: FastifyBaseLogger,
    serviceCaller: Caller,
    signals: UpstreamSignals,
  ) {
    this.catalogue = new ContentCatalogue(servers, config, log, serviceCaller);
    this.subscriptions = new ResourceSubscriptions(servers, serviceCaller, log, signals);
  }

  decisionFor(identity: Identity, server: string, item: ItemFacts): Decision {
    return decide(identity.roles, server, item, this.table);
  }

  visibleResources(identity: Identity): CatalogueResource[] {
    return this.catalogue.resources().filter(({ server, resource }) => isVisible(this.decisionFor(identity, server, { kind: 'resource', uri: resource.uri })));
  }

  visibleTemplates(identity: Identity): CatalogueTemplate[] {
    return this.catalogue.templates().filter(({ server, template }) => {
      const { uriTemplate } = template;
      return isVisible(this.decisionFor(identity, server, { kind: 'resource', uri: uriTemplate, template: uriTemplate }));
    });
  }

  visiblePrompts(identity: Identity): CataloguePrompt[] {
    return this.catalogue.prompts().filter(({ server, prompt }) => isVisible(this.decisionFor(identity, server, { kind: 'prompt', name: prompt.name })));
  }

  readResource(identity: Identity, target: ResourceTarget, options: ContentRequestOptions): Promise<ReadResourceResult> {
    return this.audited('resource_read', identity, { server: target.server, name: target.uri, arguments: {}, decision: target.decision }, options, (client, { options: request, meta }) =>
      // Never from the pooled client's cache: it is shared by every caller.
      client.readResource({ uri: target.uri, ...meta }, { ...request, cacheMode: 'bypass' }),
    );
  }

  getPrompt(identity: Identity, target: PromptTarget, args: Record<string, string>, options: ContentRequestOptions): Promise<GetPromptResult> {
    const { server, prompt } = target.entry;
    return this.audited('prompt_get', identity, { server, name: prompt.name, arguments: args, decision: target.decision }, options, (client, { options: request, meta }) =>
      client.getPrompt({ name: prompt.name, arguments: args, ...meta }, request),
    );
  }

  /** Completes an argument of a prompt or resource template (already in the upstream's own terms). */
  complete(identity: Identity, server: string, params: CompleteRequest['params'], options: ContentRequestOptions): Promise<CompleteResult> {
    return this.upstream(server).request(this.requestOptions(identity, options, undefined), async (client, { options: request, meta }) => {
      // A server without completions simply has no suggestions.
      if (client.getServerCapabilities()?.completions === undefined) return { completion: { values: [], hasMore: false } };
      return client.complete({ ...params, ...meta }, request);
    });
  }

  async close(): Promise<void> {
    this.catalogue.stop();
    await this.subscriptions.close();
  }

  private upstream(server: string): UpstreamServer {
    const upstream = this.servers.get(server);
    if (upstream === undefined) throw new GatewayError('MCP_2004', { details: { server } });
    return upstream;
  }

  private requestOptions(identity: Identity, options: ContentRequestOptions, traceparent: string | undefined): { caller: Caller; headers: Record<string, string>; signal?: AbortSignal | undefined } {
    const caller: Caller = { identity, accessToken: accessTokenOf(identity), service: false };
    return { caller, headers: { 'x-request-id': options.requestId, ...(traceparent === undefined ? {} : { traceparent }) }, signal: options.signal };
  }

  /** One upstream request as the caller, in its own span, with an audit record like a tool call's. */
  private audited<T>(
    event: AuditRecord['event'],
    identity: Identity,
    what: { server: string; name: string; arguments: unknown; decision: Decision },
    options: ContentRequestOptions,
    operation: (client: Client, tools: ClientRequestTools) => Promise<T>,
  ): Promise<T> {
    const upstream = this.upstream(what.server);
    const started = performance.now();
    const method = event === 'resource_read' ? 'resources/read' : 'prompts/get';
    return tracer.startActiveSpan(`mcp.${method} ${what.server}`, { kind: SpanKind.CLIENT }, parentContext(options.traceparent), async (span) => {
      const trace = childTraceContext(options.traceparent, span);
      let outcome = 'error';
      try {
        const result = await upstream.request(this.requestOptions(identity, options, trace.traceparent), operation);
        outcome = 'ok';
        return result;
      } catch (error) {
        outcome = options.signal?.aborted === true ? 'cancelled' : error instanceof GatewayError ? error.code : 'error';
        throw error;
      } finally {
        span.setAttributes({ 'mcp.server': what.server, 'mcp.method': method, 'mcp.outcome': outcome, 'enduser.id': identity.sub });
        if (outcome !== 'ok') span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
        span.end();
        this.audit.record({
          event,
          ...actorOf(identity),
          server: what.server,
          tool: what.name,
          arguments: what.arguments,
          decision: what.decision.effect,
          reason: what.decision.reason,
          outcome,
          durationMs: Math.round(performance.now() - started),
          traceId: trace.traceId,
          requestId: options.requestId,
        });
      }
    });
  }
}
