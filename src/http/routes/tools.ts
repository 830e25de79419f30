/**
 * The direct tool API (no model involved): list the caller's tools, call one, and decide the
 * confirmations that destructive calls wait for.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Identity } from '../../auth/identity.js';
import type { GatewayConfig } from '../../config/schema.js';
import { publicView, type ConfirmationDecision, type PendingConfirmation } from '../../gate/confirmations.js';
import type { ToolGate } from '../../gate/tool-gate.js';
import { roleSetKey, type VisibleTool } from '../../upstream/tool-service.js';
import { identityOf } from '../authenticate.js';

/** Lets agent runs take over decisions on confirmations that pause a run. */
export type RunDecisionHandler = (identity: Identity, pending: PendingConfirmation, decision: ConfirmationDecision, request: FastifyRequest) => Promise<unknown>;

const nameParam = { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.-]+$' } as const;

export function toolView({ tool, decision }: VisibleTool): Record<string, unknown> {
  return {
    name: tool.name,
    qualifiedName: tool.qualifiedName,
    server: tool.server,
    title: tool.title,
    description: tool.description,
    readOnly: tool.annotations?.readOnlyHint === true,
    requiresConfirmation: decision.effect === 'confirm',
    inputSchema: tool.inputSchema,
  };
}

function traceparentOf(request: FastifyRequest): string | undefined {
  const header = request.headers.traceparent;
  return typeof header === 'string' ? header : undefined;
}

export function registerToolRoutes(app: FastifyInstance, gate: ToolGate, config: GatewayConfig, runDecisions: RunDecisionHandler | undefined): void {
  const { tools } = gate;
  // The servers part of /api/me depends only on the role set, the catalogue version and which servers
  // answer: built once per combination instead of per request (bounded; distinct role sets are few).
  const serverViews = new Map<string, unknown[]>();
  const serversView = (identity: Identity): unknown[] => {
    const granted = tools.grantedServers(identity);
    const available = granted.map((server) => tools.catalogue.isAvailable(server));
    const key = `${tools.catalogue.version}|${available.map(Number).join('')}|${roleSetKey(identity.roles)}`;
    let view = serverViews.get(key);
    if (view !== undefined) return view;
    const visible = tools.visibleTools(identity);
    view = granted.map((server, index) => ({
      name: server,
      description: config.servers[server]?.description ?? '',
      available: available[index],
      tools: visible
        .filter(({ tool }) => tool.server === server)
        .map((entry) => {
          const { name, qualifiedName, description, readOnly, requiresConfirmation } = toolView(entry);
          return { name, qualifiedName, description, readOnly, requiresConfirmation };
        }),
    }));
    if (serverViews.size >= 1_000) serverViews.clear();
    serverViews.set(key, view);
    return view;
  };

  app.get('/api/me', async (request) => {
    const identity = identityOf(request);
    await tools.catalogue.loaded();
    return { sub: identity.sub, username: identity.username, email: identity.email, roles: identity.roles, servers: serversView(identity) };
  });

  app.get('/api/tools', async (request) => {
    await tools.catalogue.loaded();
    return { tools: tools.visibleTools(identityOf(request)).map(toolView) };
  });

  app.post<{ Params: { server: string; tool: string }; Body: { arguments?: Record<string, unknown> } }>(
    '/api/tools/:server/:tool',
    {
      schema: {
        params: { type: 'object', properties: { server: nameParam, tool: nameParam }, required: ['server', 'tool'] },
        body: { type: 'object', additionalProperties: false, properties: { arguments: { type: 'object' } } },
      },
    },
    async (request, reply) => {
      const { server, tool } = request.params;
      const outcome = await gate.call(identityOf(request), { server, tool }, request.body.arguments ?? {}, {
        requestId: request.id,
        traceparent: traceparentOf(request),
        signal: abortOnClose(reply),
      });
      if (outcome.kind === 'confirmation') return reply.status(202).send({ confirmation: publicView(outcome.pending) });
      return { result: outcome.result };
    },
  );

  app.get<{ Params: { id: string } }>('/api/confirmations/:id', async (request) => {
    const pending = await gate.confirmations.get(identityOf(request), request.params.id);
    return { confirmation: publicView(pending) };
  });

  app.post<{ Params: { id: string }; Body: { decision: ConfirmationDecision } }>(
    '/api/confirmations/:id',
    {
      schema: {
        body: { type: 'object', additionalProperties: false, required: ['decision'], properties: { decision: { type: 'string', enum: ['approve', 'reject'] } } },
      },
    },
    async (request, reply) => {
      const identity = identityOf(request);
      const { decision } = request.body;
      const pending = await gate.decide(identity, request.params.id, decision, request.id);
      if (pending.runId !== undefined && runDecisions !== undefined) return runDecisions(identity, pending, decision, request);
      if (decision === 'reject') return { status: 'rejected' };
      const result = await gate.runApproved(identity, pending, { requestId: request.id, traceparent: traceparentOf(request), signal: abortOnClose(reply) });
      return { status: 'approved', result };
    },
  );
}

/** Aborts the upstream call when the client goes away before the answer is written. */
function abortOnClose(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort(new Error('client disconnected'));
  });
  return controller.signal;
}
