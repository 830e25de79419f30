/**
 * The gateway's own MCP endpoint (`/mcp`, Streamable HTTP, official SDK v2) for MCP clients such as
 * Claude Desktop or IDE agents. A client authenticates with the user's bearer token like any /api
 * call; it sees exactly the tools the policy shows that user, under their qualified names, and every
 * call goes through the same guarded path as the REST API. A tool that needs a human's confirmation
 * is not run: the client gets the confirmation id to approve through the API or the console.
 */
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, Server, type AuthInfo, type CallToolResult } from '@modelcontextprotocol/server';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Identity } from '../auth/identity.js';
import { GatewayError, toGatewayError } from '../errors.js';
import { identityOf } from '../http/authenticate.js';
import type { Confirmations } from '../runs/confirmations.js';
import type { ToolService } from '../upstream/tool-service.js';

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

function buildServer(scope: RequestScope, tools: ToolService, confirmations: Confirmations): Server {
  const server = new Server(SERVER_INFO, { capabilities: { tools: { listChanged: false } } });
  server.setRequestHandler('tools/list', async () => {
    await tools.catalogue.loaded();
    return {
      tools: tools.visibleTools(scope.identity).map(({ tool, decision }) => ({
        name: tool.qualifiedName,
        title: tool.title,
        description: decision.effect === 'confirm' ? `${tool.description} (needs a person's confirmation before it runs)` : tool.description,
        inputSchema: { ...tool.inputSchema, type: 'object' as const },
        annotations: tool.annotations,
      })),
    };
  });
  server.setRequestHandler('tools/call', async (request, ctx) => {
    const target = tools.catalogue.resolve(request.params.name);
    if (target === undefined) return errorResult(`Unknown tool ${request.params.name}.`);
    const args = request.params.arguments ?? {};
    try {
      const visible = await tools.authorize(scope.identity, target.server, target.name);
      tools.validateArguments(visible.tool, args);
      if (visible.decision.effect === 'confirm') {
        const pending = await confirmations.create(
          scope.identity,
          { server: target.server, tool: target.name, arguments: args },
          { reason: visible.decision.reason, requestId: scope.requestId },
        );
        return {
          ...errorResult(
            `This action needs your confirmation before it runs. Approve or reject confirmation ${pending.id} ` +
              `(POST /api/confirmations/${pending.id} with {"decision":"approve"}) before ${pending.expiresAt}.`,
          ),
          structuredContent: { confirmationRequired: true, confirmationId: pending.id, expiresAt: pending.expiresAt },
        };
      }
      return await tools.call(scope.identity, visible, args, { requestId: scope.requestId, signal: ctx.mcpReq.signal });
    } catch (error) {
      const failure = toGatewayError(error);
      return errorResult(`${failure.code}: ${failure.message}`);
    }
  });
  return server;
}

export function registerMcpEndpoint(api: FastifyInstance, tools: ToolService, confirmations: Confirmations, log: FastifyBaseLogger): { close(): Promise<void> } {
  const onerror = (error: Error): void => log.warn({ err: error }, 'MCP endpoint error');
  const handler = createMcpHandler(({ authInfo }) => buildServer(scopeOf(authInfo), tools, confirmations), { onerror });

  api.route({
    method: ['GET', 'POST', 'DELETE'],
    url: '/mcp',
    handler: async (request, reply) => {
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
