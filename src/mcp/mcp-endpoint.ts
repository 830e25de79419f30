/**
 * The gateway's own MCP endpoint (`/mcp`, Streamable HTTP, official SDK v2) for MCP clients such as
 * Claude Desktop or IDE agents. A client authenticates with the user's bearer token like any /api
 * call; it sees exactly the tools the policy shows that user, under their qualified names, and every
 * call goes through the tool gate like the REST API and agent runs.
 *
 * Resources, resource templates, prompts and completions are aggregated the same way, through the
 * resource gate (content-handlers.ts); list changes upstream are passed on to connected clients and
 * resource updates to the clients subscribed to them.
 *
 * What an upstream sends during a call reaches the client that made it (call-flows.ts): progress,
 * log messages, and its requests (elicitation, sampling, roots), whose answers go back upstream. The
 * client cancelling (2025: `notifications/cancelled`; 2026-07-28: closing the request's stream)
 * cancels the upstream call. 2026-07-28 clients are served per request; 2025-era clients get a
 * session when they initialize (legacy-sessions.ts), else stateless serving.
 */
import { toNodeHandler } from '@modelcontextprotocol/node';
import {
  CLIENT_CAPABILITIES_META_KEY,
  createMcpHandler,
  createRequestStateCodec,
  inputRequired,
  isLegacyRequest,
  type McpRequestContext,
  LOG_LEVEL_META_KEY,
  ProtocolError,
  ProtocolErrorCode,
  Server,
  type AuthInfo,
  type CallToolResult,
  type ClientCapabilities,
  type InputRequiredResult,
  type LoggingLevel,
  type RequestStateCodec,
  type ServerContext,
  type Tool,
} from '@modelcontextprotocol/server';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply } from 'fastify';
import type { GatewayConfig } from '../config/schema.js';
import { GatewayError, toGatewayError } from '../errors.js';
import type { ResourceGate } from '../gate/resource-gate.js';
import type { GateOutcome, ToolGate } from '../gate/tool-gate.js';
import { identityOf } from '../http/authenticate.js';
import { gatewayToolResult } from '../upstream/resource-links.js';
import type { VisibleTool } from '../upstream/tool-service.js';
import type { ListKind } from '../upstream/upstream-signals.js';
import { CallFlows, type CallFlow, type ClientView } from './call-flows.js';
import { confirmationAnswer, confirmationRequest, type ConfirmationRound } from './confirm-elicitation.js';
import { confirmationStatus, STATUS_TOOL, statusToolDefinition } from './confirmation-status.js';
import { registerContentHandlers } from './content-handlers.js';
import { allowedHostnames, checkHostAndOrigin } from './host-check.js';
import { jsonRpcError, LegacySessions } from './legacy-sessions.js';
import { ListenSubscriptions, listenedUris } from './listen-subscriptions.js';
import { scopeOf, type RequestScope } from './request-scope.js';
import { malformedRequestId } from './request-shape.js';

const SERVER_INFO = { name: 'mcp-gateway', title: 'MCP Gateway', version: '0.1.0' };

/**
 * What /mcp serves: tools, resources (with subscriptions), prompts and completions aggregated from
 * the upstreams, each list's changes passed on, and logging relayed from calls.
 */
const CAPABILITIES = { tools: { listChanged: true }, resources: { subscribe: true, listChanged: true }, prompts: { listChanged: true }, completions: {}, logging: {} };
/** A 2025-era request served statelessly has no stream an update could come back on: no subscriptions. */
const STATELESS_CAPABILITIES = { ...CAPABILITIES, resources: { listChanged: true } };

/** What a round hands the next one through the client (sealed and bound to the user by the codec). */
type RoundState = { kind: 'flow'; flow: string; tool: string } | ConfirmationRound;

function errorResult(message: string): CallToolResult {
  return { content: [{ type: 'text', text: message }], isError: true };
}

/** A tool as MCP clients see it: the upstream definition under its qualified name. */
function toolDefinition({ tool, decision }: VisibleTool): Tool {
  return {
    name: tool.qualifiedName,
    ...(tool.title === undefined ? {} : { title: tool.title }),
    description: decision.effect === 'confirm' ? `${tool.description} (needs a person's confirmation before it runs)` : tool.description,
    inputSchema: { ...tool.inputSchema, type: 'object' as const },
    ...(tool.outputSchema === undefined ? {} : { outputSchema: tool.outputSchema }),
    ...(tool.icons === undefined ? {} : { icons: tool.icons }),
    ...(tool.annotations === undefined ? {} : { annotations: tool.annotations }),
  };
}

interface EndpointParts {
  readonly gate: ToolGate;
  readonly resources: ResourceGate;
  readonly pageSize: number;
  readonly flows: CallFlows;
  readonly codec: RequestStateCodec<RoundState>;
  readonly onerror: (error: Error) => void;
  readonly inputTimeoutMs: number;
}

/**
 * The client as this request shows it. 2026-07-28 requests carry their capabilities and log level;
 * a 2025-era client declared its capabilities at initialize and set its level with logging/setLevel
 * (kept per server instance, so per session; a 2025 client that set none gets every message).
 */
function clientView(server: Server, ctx: ServerContext, legacyLevel: LoggingLevel | undefined): ClientView {
  const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
  const modern = envelope !== undefined;
  return {
    notify: (notification) => ctx.mcpReq.notify(notification),
    capabilities: modern ? (envelope[CLIENT_CAPABILITIES_META_KEY] as ClientCapabilities | undefined) : server.getClientCapabilities(),
    logLevel: modern ? (envelope[LOG_LEVEL_META_KEY] as LoggingLevel | undefined) : (legacyLevel ?? 'debug'),
    progressToken: ctx.mcpReq._meta?.progressToken,
  };
}

function buildServer(parts: EndpointParts, stateless: boolean): Server {
  const { gate, flows, codec } = parts;
  const { tools } = gate;
  const server = new Server(SERVER_INFO, {
    capabilities: stateless ? STATELESS_CAPABILITIES : CAPABILITIES,
    requestState: { verify: (state, ctx) => codec.verify(state, ctx) },
    inputRequired: { roundTimeoutMs: parts.inputTimeoutMs },
  });
  let legacyLevel: LoggingLevel | undefined;
  server.setRequestHandler('logging/setLevel', (request) => {
    legacyLevel = request.params.level;
    return {};
  });
  server.setRequestHandler('tools/list', async (_request, ctx) => {
    const { identity } = scopeOf(ctx);
    await tools.catalogue.loaded();
    const visible = tools.visibleTools(identity);
    // The status tool is useful only to a client that may get confirmation ids (it cannot ask the person itself).
    const needsStatus = visible.some(({ decision }) => decision.effect === 'confirm') && clientView(server, ctx, legacyLevel).capabilities?.elicitation === undefined;
    return { tools: [...visible.map(toolDefinition), ...(needsStatus ? [statusToolDefinition] : [])] };
  });
  server.setRequestHandler('tools/call', async (request, ctx) => {
    const scope = scopeOf(ctx);
    const { identity, requestId } = scope;
    const { name } = request.params;
    if (name === STATUS_TOOL) return confirmationStatus(gate, identity, request.params.arguments ?? {});
    const client = clientView(server, ctx, legacyLevel);
    const state = ctx.mcpReq.requestState<RoundState>();
    if (state !== undefined && state.tool !== name) throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'The requestState belongs to a call of another tool');
    await tools.catalogue.loaded();

    const proceed = async (flow: CallFlow<GateOutcome>): Promise<CallToolResult | InputRequiredResult> => {
      const step = await flow.step(client, ctx.mcpReq.inputResponses ?? {}, ctx.mcpReq.signal);
      if (step.kind === 'input') {
        return inputRequired({ inputRequests: step.requests, requestState: await codec.mint({ kind: 'flow', flow: flow.id, tool: name }, ctx) });
      }
      const outcome = step.value;
      if (outcome.kind === 'result') return linked(outcome.result);
      const { pending } = outcome;
      if (client.capabilities?.elicitation !== undefined) {
        // The person is asked right here; their answer comes back in the client's next round.
        return inputRequired({ inputRequests: { confirm: confirmationRequest(pending, tools) }, requestState: await codec.mint({ kind: 'confirm', id: pending.id, tool: name }, ctx) });
      }
      return {
        ...errorResult(
          `This action needs your confirmation before it runs. Approve or reject confirmation ${pending.id} ` +
            `(POST /api/confirmations/${pending.id} with {"decision":"approve"}) before ${pending.expiresAt}; ` +
            `then ${STATUS_TOOL} with this confirmationId gives its outcome and result.`,
        ),
        structuredContent: { confirmationRequired: true, confirmationId: pending.id, expiresAt: pending.expiresAt },
      };
    };
    // Resource links in the result point at gateway URIs the client can read.
    const linked = (result: CallToolResult): CallToolResult => {
      const server = tools.catalogue.resolve(name)?.server;
      return server === undefined ? result : gatewayToolResult(parts.resources.content.catalogue.uris, server, result);
    };
    const start = (run: (flow: CallFlow<GateOutcome>) => Promise<GateOutcome>): CallFlow<GateOutcome> => flows.start(identity.sub, run);
    const callOptions = (flow: CallFlow<GateOutcome>) => ({ requestId, signal: flow.signal, relay: flow.relay, onProgress: (progress: { progress: number; total?: number; message?: string }) => flow.progress(progress) });

    try {
      if (state?.kind === 'confirm') {
        const answer = await confirmationAnswer(gate, identity, state, ctx.mcpReq.inputResponses, requestId);
        if (answer.kind === 'ask') {
          return inputRequired({ inputRequests: { confirm: confirmationRequest(answer.pending, tools) }, requestState: await codec.mint(state, ctx) });
        }
        if (answer.kind === 'rejected') {
          return { ...errorResult('The person declined this action; it was not run.'), structuredContent: { confirmationId: state.id, decision: 'rejected' } };
        }
        const { pending } = answer;
        return await proceed(start(async (flow) => ({ kind: 'result', result: await gate.runApproved(identity, pending, callOptions(flow)) })));
      }
      if (state?.kind === 'flow') {
        const flow = flows.get<GateOutcome>(state.flow, identity.sub);
        if (flow === undefined) throw new GatewayError('MCP_2022');
        return await proceed(flow);
      }
      return await proceed(start((flow) => gate.call(identity, name, request.params.arguments ?? {}, callOptions(flow))));
    } catch (error) {
      if (ctx.mcpReq.signal.aborted) throw error;
      if (error instanceof ProtocolError) throw error;
      const failure = toGatewayError(error);
      // Unknown, hidden and not-granted tools answer alike (MCP: invalid params), so names do not leak.
      if (failure.code === 'MCP_2004' || failure.code === 'MCP_2005') throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${name}`);
      if (failure.code === 'MCP_2022') throw new ProtocolError(ProtocolErrorCode.InvalidParams, `${failure.code}: ${failure.message}`, { code: failure.code });
      // Everything else (bad arguments included) is a tool error the model can read and act on.
      return errorResult(`${failure.code}: ${failure.message}`);
    }
  });
  registerContentHandlers(server, parts.resources, { pageSize: parts.pageSize, subscriptions: !stateless });
  server.onerror = parts.onerror;
  return server;
}

/** Answers a /mcp request with a JSON-RPC error before the SDK sees it (in band, as the SDK does). */
async function answerWith(reply: FastifyReply, answer: Response): Promise<FastifyReply> {
  return reply.code(answer.status).header('content-type', 'application/json').send(await answer.text());
}

export interface McpEndpoint {
  close(): Promise<void>;
}

export function registerMcpEndpoint(api: FastifyInstance, gate: ToolGate, resources: ResourceGate, config: GatewayConfig, log: FastifyBaseLogger, stateKey: Uint8Array): McpEndpoint {
  const onerror = (error: Error): void => log.warn({ err: error }, 'MCP endpoint error');
  const codec = createRequestStateCodec<RoundState>({
    key: stateKey,
    ttlSeconds: Math.ceil(Math.max(config.mcp.inputTimeoutMs, config.confirmations.ttlMs) / 1000),
    // A round's state is good only for the user it was minted for.
    bind: (ctx) => `${ctx.mcpReq.method}\0${scopeOf(ctx).identity.sub}`,
  });
  const parts: EndpointParts = { gate, resources, pageSize: config.mcp.pageSize, flows: new CallFlows(config.mcp.inputTimeoutMs), codec, onerror, inputTimeoutMs: config.mcp.inputTimeoutMs };
  // The SDK's handler says which era it builds for; a 2025-era instance there serves one stateless request.
  const factory = (context?: McpRequestContext): Server => buildServer(parts, context?.era === 'legacy');
  const handler = createMcpHandler(factory, { onerror });
  const sessions = new LegacySessions(factory, { idleMs: config.mcp.sessionIdleMs, maxSessions: config.mcp.maxSessions, onerror });
  const hostnames = allowedHostnames(config);
  const listens = new ListenSubscriptions(resources, handler.notify);
  // An upstream's list changed (and the catalogue took it in): connected clients hear of it — 2025-era
  // sessions whose owner the server's roles grant, on their own streams; 2026-07-28 clients on their
  // subscriptions/listen streams (the SDK's bus has no per-user delivery; the notification names nothing).
  const stopForwarding = gate.tools.signals.listen({
    listChanged: (kind: ListKind, upstream: string) => {
      if (kind === 'tools') handler.notify.toolsChanged();
      else if (kind === 'resources') handler.notify.resourcesChanged();
      else handler.notify.promptsChanged();
      for (const server of sessions.servers((owner) => gate.tools.grantedServers(owner).includes(upstream))) {
        const sent = kind === 'tools' ? server.sendToolListChanged() : kind === 'resources' ? server.sendResourceListChanged() : server.sendPromptListChanged();
        void sent.catch(() => undefined);
      }
    },
  });

  api.route({
    method: ['GET', 'POST', 'DELETE'],
    url: '/mcp',
    handler: async (request, reply) => {
      // DNS-rebinding protection (MCP transport spec): a browser page must not reach /mcp through a
      // hostname or from an origin that is not this gateway's.
      checkHostAndOrigin(request.headers.host, request.headers.origin, hostnames);
      const identity = identityOf(request);
      const malformed = malformedRequestId(request.body);
      if (malformed !== undefined) return answerWith(reply, jsonRpcError('REQ_4000', ProtocolErrorCode.InvalidParams, malformed.id, 200));
      const listened = listenedUris(request.body);
      if (listened.length > 0) {
        let release: () => void;
        try {
          release = await listens.open(identity, listened);
        } catch (error) {
          // A URI the caller may not read answers like an unknown one (MCP_2008); no stream opens.
          const failure = toGatewayError(error);
          const id = (request.body as { id?: unknown }).id ?? null;
          return answerWith(reply, jsonRpcError(failure.code, failure.status < 500 ? ProtocolErrorCode.InvalidParams : -32000, id, 200));
        }
        reply.raw.once('close', release);
      }
      const authInfo: AuthInfo = { token: '', clientId: 'mcp-gateway', scopes: [], extra: { gateway: { identity, requestId: request.id } satisfies RequestScope } };
      const node = toNodeHandler(
        {
          fetch: async (webRequest, options) => {
            const parsedBody = options?.parsedBody;
            if (await isLegacyRequest(webRequest, parsedBody)) {
              const answer = await sessions.fetch(webRequest, identity, authInfo, parsedBody);
              if (answer !== undefined) return answer;
            }
            return handler.fetch(webRequest, { authInfo, ...(parsedBody === undefined ? {} : { parsedBody }) });
          },
        },
        { onerror },
      );
      // The SDK writes the response itself (JSON or an SSE stream); Fastify steps aside.
      reply.hijack();
      for (const [name, value] of Object.entries(reply.getHeaders())) {
        if (value !== undefined) reply.raw.setHeader(name, value);
      }
      await node(request.raw, reply.raw, request.body);
    },
  });
  return {
    close: async () => {
      stopForwarding();
      parts.flows.close();
      await sessions.close();
      await handler.close();
    },
  };
}
