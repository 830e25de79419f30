/**
 * Agent runs over SSE: `POST /api/query` starts a run and streams it; `GET /api/runs/:id/events`
 * resumes from a Last-Event-ID on any replica; `DELETE /api/runs/:id` cancels;
 * `POST /api/runs/:id/elicitations/:elicitationId` answers a tool server's question (any replica).
 * Both streams only tail the run's log.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Identity } from '../../auth/identity.js';
import type { GatewayConfig } from '../../config/schema.js';
import { GatewayError, toGatewayError } from '../../errors.js';
import { tierFor } from '../../policy/rate-tier.js';
import type { AgentLoop } from '../../runs/agent-loop.js';
import type { ElicitationAnswer, RunElicitations } from '../../runs/run-elicitations.js';
import type { RunManager } from '../../runs/run-manager.js';
import type { RunStore } from '../../runs/run-store.js';
import type { ToolService } from '../../upstream/tool-service.js';
import { identityOf } from '../authenticate.js';
import type { RateLimits } from '../rate-limit.js';
import type { SseRegistry } from '../sse.js';

const EVENT_ID = /^\d{1,20}-\d{1,20}$/;
const UUID = '^[0-9a-fA-F-]{36}$';

export interface RunRouteDependencies {
  manager: RunManager;
  runs: RunStore;
  loop: AgentLoop;
  tools: ToolService;
  sse: SseRegistry;
  rateLimits: RateLimits;
  config: GatewayConfig;
  elicitations: RunElicitations;
}

/**
 * Streams a run from `afterId` until its `done` event, a final event of the stream's own (the store
 * stayed away, the run vanished: see RunManager.read), or until the reader goes. Whatever goes wrong,
 * the reader gets a final event rather than a silent close.
 */
async function streamRun(deps: RunRouteDependencies, reply: FastifyReply, runId: string, afterId: string): Promise<void> {
  const stream = deps.sse.open(reply, runId);
  const detach = await deps.manager.attachReader(runId);
  try {
    for await (const event of deps.manager.read(runId, afterId, stream.signal)) {
      if (!(await stream.send(event.id, event.type, event.data))) break;
      if (event.type === 'done') break;
    }
  } catch (error) {
    if (!stream.signal.aborted) {
      reply.log.warn({ err: error, runId }, 'run stream failed; the client may resume with Last-Event-ID');
      await stream.send(undefined, 'error', toGatewayError(error).toObject(reply.request.id));
    }
  } finally {
    await detach();
    stream.close();
  }
}

export function registerRunRoutes(app: FastifyInstance, deps: RunRouteDependencies): void {
  const { config } = deps;

  app.post<{ Body: { query: string; conversationId?: string } }>(
    '/api/query',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['query'],
          properties: {
            // At least one character that is neither whitespace nor a control character: the query is
            // trimmed before the model sees it, and a query of only those asks nothing.
            query: { type: 'string', minLength: 1, maxLength: config.limits.maxQueryChars, pattern: '[^\\s\\x00-\\x1f\\x7f-\\x9f]' },
            conversationId: { type: 'string', pattern: UUID },
          },
        },
      },
    },
    async (request, reply) => {
      const identity = identityOf(request);
      await deps.rateLimits.consume('query', identity.sub, tierFor(identity.roles, config.limits.tiers), reply);
      await deps.loop.assertBudget(identity);
      await deps.tools.catalogue.loaded();
      const { servers, unavailable } = serversFor(deps.tools, identity);
      const state = await deps.manager.start(identity, request.body.query.trim(), request.body.conversationId, unavailable, servers);
      reply.header('x-run-id', state.id);
      await streamRun(deps, reply, state.id, '0');
    },
  );

  app.get<{ Params: { runId: string }; Querystring: { lastEventId?: string } }>(
    '/api/runs/:runId/events',
    {
      schema: {
        params: { type: 'object', properties: { runId: { type: 'string', pattern: UUID } }, required: ['runId'] },
        querystring: { type: 'object', properties: { lastEventId: { type: 'string' } } },
      },
    },
    async (request, reply) => {
      const identity = identityOf(request);
      const header = request.headers['last-event-id'];
      const lastEventId = (typeof header === 'string' ? header : undefined) ?? request.query.lastEventId ?? '0';
      if (lastEventId !== '0' && !EVENT_ID.test(lastEventId)) throw new GatewayError('REQ_4000', { message: 'Last-Event-ID is not an event id of this gateway' });
      const state = await deps.manager.openForReading(identity, request.params.runId);
      // At or past a finished run's last event there is nothing more to read: 204 ends the stream at
      // once, and tells an EventSource not to reconnect (the SSE standard's "stop" answer).
      if (await deps.manager.finishedBefore(state, lastEventId)) return reply.status(204).send();
      await streamRun(deps, reply, request.params.runId, lastEventId);
    },
  );

  registerElicitationRoute(app, deps);

  app.delete<{ Params: { runId: string } }>(
    '/api/runs/:runId',
    { schema: { params: { type: 'object', properties: { runId: { type: 'string', pattern: UUID } }, required: ['runId'] } } },
    async (request, reply) => {
      await deps.manager.cancel(identityOf(request), request.params.runId);
      return reply.status(202).send({ runId: request.params.runId, status: 'cancelling' });
    },
  );
}

function registerElicitationRoute(app: FastifyInstance, deps: RunRouteDependencies): void {
  app.post<{ Params: { runId: string; elicitationId: string }; Body: ElicitationAnswer }>(
    '/api/runs/:runId/elicitations/:elicitationId',
    {
      schema: {
        params: {
          type: 'object',
          properties: { runId: { type: 'string', pattern: UUID }, elicitationId: { type: 'string', pattern: UUID } },
          required: ['runId', 'elicitationId'],
        },
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['action'],
          properties: {
            action: { type: 'string', enum: ['accept', 'decline', 'cancel'] },
            // Checked against the form the tool server asked for (RUN_6005); only with accept.
            content: { type: 'object' },
          },
        },
      },
    },
    async (request) => {
      const { runId, elicitationId } = request.params;
      await deps.elicitations.answer(identityOf(request), runId, elicitationId, request.body, request.id);
      return { elicitationId, action: request.body.action };
    },
  );
}

function serversFor(tools: ToolService, identity: Identity): { servers: string[]; unavailable: string[] } {
  const granted = tools.grantedServers(identity);
  return {
    servers: granted.filter((server) => tools.catalogue.isAvailable(server)),
    unavailable: granted.filter((server) => !tools.catalogue.isAvailable(server)),
  };
}
