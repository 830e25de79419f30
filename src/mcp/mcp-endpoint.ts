/**
 * The gateway's own MCP endpoint (`/mcp`, Streamable HTTP, official SDK v2) for MCP clients such as
 * Claude Desktop or IDE agents. A client authenticates with the user's bearer token like any /api
 * call; it sees exactly the tools the policy shows that user, under their qualified names, and every
 * call goes through the tool gate like the REST API and agent runs. A tool that needs a human's
 * confirmation is not run: the client gets the confirmation id to approve through the API or the console.
 */
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, ProtocolError, ProtocolErrorCode, Server, type AuthInfo, type CallToolResult, type Tool } from '@modelcontextprotocol/server';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Identity } from '../auth/identity.js';
import type { GatewayConfig } from '../config/schema.js';
import { GatewayError, toGatewayError } from '../errors.js';
import type { ToolGate } from '../gate/tool-gate.js';
import { identityOf } from '../http/authenticate.js';
import type { VisibleTool } from '../upstream/tool-service.js';
import { allowedHostnames, checkHostAndOrigin } from './host-check.js';

const SERVER_INFO = { name: 'mcp-gateway', title: 'MCP Gateway', version: '0.1.0' };

interface RequestScope {
  identity: Identity;
  requestId: string;
}

function scopeOf(authInfo: AuthInfo | undefined): RequestScope {
  const scope = authInfo?.extra?.gateway as RequestScope | undefined;
  // The route puts the verified identity here before the SDK sees the request.
  if (scope === undefined) throw new GatewayError('AUTH_1001');
  return scope;
}

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

function buildServer(scope: RequestScope, gate: ToolGate): Server {
  const { tools } = gate;
  const server = new Server(SERVER_INFO, { capabilities: { tools: { listChanged: false } } });
  server.setRequestHandler('tools/list', async () => {
    await tools.catalogue.loaded();
    return { tools: tools.visibleTools(scope.identity).map(toolDefinition) };
  });
  server.setRequestHandler('tools/call', async (request, ctx) => {
    const { name } = request.params;
    await tools.catalogue.loaded();
    try {
      const outcome = await gate.call(scope.identity, name, request.params.arguments ?? {}, { requestId: scope.requestId, signal: ctx.mcpReq.signal });
      if (outcome.kind === 'result') return outcome.result;
      const { pending } = outcome;
      return {
        ...errorResult(
          `This action needs your confirmation before it runs. Approve or reject confirmation ${pending.id} ` +
            `(POST /api/confirmations/${pending.id} with {"decision":"approve"}) before ${pending.expiresAt}.`,
        ),
        structuredContent: { confirmationRequired: true, confirmationId: pending.id, expiresAt: pending.expiresAt },
      };
    } catch (error) {
      const failure = toGatewayError(error);
      // Unknown, hidden and not-granted tools answer alike (MCP: invalid params), so names do not leak.
      if (failure.code === 'MCP_2004' || failure.code === 'MCP_2005') throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${name}`);
      // Everything else (bad arguments included) is a tool error the model can read and act on.
      return errorResult(`${failure.code}: ${failure.message}`);
    }
  });
  return server;
}

export function registerMcpEndpoint(api: FastifyInstance, gate: ToolGate, config: GatewayConfig, log: FastifyBaseLogger): { close(): Promise<void> } {
  const onerror = (error: Error): void => log.warn({ err: error }, 'MCP endpoint error');
  const handler = createMcpHandler(({ authInfo }) => buildServer(scopeOf(authInfo), gate), { onerror });
  const hostnames = allowedHostnames(config);

  api.route({
    method: ['GET', 'POST', 'DELETE'],
    url: '/mcp',
    handler: async (request, reply) => {
      // DNS-rebinding protection (MCP transport spec): a browser page must not reach /mcp through a
      // hostname or from an origin that is not this gateway's.
      checkHostAndOrigin(request.headers.host, request.headers.origin, hostnames);
      const identity = identityOf(request);
      const authInfo: AuthInfo = { token: '', clientId: 'mcp-gateway', scopes: [], extra: { gateway: { identity, requestId: request.id } satisfies RequestScope } };
      const node = toNodeHandler({ fetch: (webRequest) => handler.fetch(webRequest, { authInfo }) }, { onerror });
      // The SDK writes the response itself (JSON or an SSE stream); Fastify steps aside.
      reply.hijack();
      for (const [name, value] of Object.entries(reply.getHeaders())) {
        if (value !== undefined) reply.raw.setHeader(name, value);
      }
      await node(request.raw, reply.raw, request.body);
    },
  });
  return { close: () => handler.close() };
}
