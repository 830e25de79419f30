/**
 * The `/mcp` endpoint of one sample server: the bearer gate (identity assertion) in front of the
 * SDK's per-request handler, which serves the 2026-07-28 protocol and, statelessly, 2025-era clients.
 */
import { toNodeHandler, type NodeMcpRequestHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, McpServer, requireBearerAuth } from '@modelcontextprotocol/server';
import { assertionVerifier, type AssertionTrust } from './assertion.js';
import { callerOf, type SampleServerName } from './caller.js';
import type { SampleTool, ToolPatch } from './tools.js';

export interface McpEndpointOptions {
  serverName: SampleServerName;
  title: string;
  tools: readonly SampleTool[];
  trust: AssertionTrust;
  patchOf: (tool: string) => ToolPatch | undefined;
  onCall: (tool: string) => void;
  onError?: (error: Error) => void;
}

export interface McpEndpoint {
  handle: NodeMcpRequestHandler;
  /** Tells open `subscriptions/listen` streams that the tool list changed. */
  toolsChanged(): void;
  close(): Promise<void>;
}

export function createMcpEndpoint(options: McpEndpointOptions): McpEndpoint {
  const { serverName, title, tools, patchOf, onCall, onError } = options;
  // A fresh McpServer per request, built for the verified caller: row-level rules need no lookups later.
  const handler = createMcpHandler(
    ({ authInfo }) => {
      const server = new McpServer({ name: `sample-${serverName}`, title, version: '1.0.0' }, { capabilities: { tools: { listChanged: true } } });
      const caller = callerOf(authInfo);
      for (const tool of tools) tool.register({ server, serverName, caller, patchOf, onCall });
      return server;
    },
    { onerror: onError },
  );
  const gate = requireBearerAuth({ verifier: assertionVerifier(options.trust) });
  const handle = toNodeHandler(
    {
      fetch: async (request) => {
        const authInfo = await gate(request);
        return authInfo instanceof Response ? authInfo : handler.fetch(request, { authInfo });
      },
    },
    { onerror: onError },
  );
  return { handle, toolsChanged: () => handler.notify.toolsChanged(), close: () => handler.close() };
}
