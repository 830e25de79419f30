/**
 * An upstream MCP server protected by Keycloak itself (not by the gateway's assertion), as a team
 * would run one: it accepts only Keycloak access tokens whose audience is its own client
 * (`upstream-mcp` in the realm), and its `whoami` tool reports whom a token speaks for.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, McpServer, OAuthError, OAuthErrorCode, requireBearerAuth, type AuthInfo } from '@modelcontextprotocol/server';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { z } from 'zod';

export interface KeycloakProtectedServer {
  readonly url: string;
  /** The claims of every token this server accepted, in order. */
  readonly accepted: JWTPayload[];
  close(): Promise<void>;
}

export async function startKeycloakProtectedServer(options: { issuer: string; audience: string }): Promise<KeycloakProtectedServer> {
  const keys = createRemoteJWKSet(new URL(`${options.issuer}/protocol/openid-connect/certs`));
  const accepted: JWTPayload[] = [];
  const gate = requireBearerAuth({
    verifier: {
      async verifyAccessToken(token: string): Promise<AuthInfo> {
        try {
          const { payload } = await jwtVerify(token, keys, { issuer: options.issuer, audience: options.audience, algorithms: ['RS256'] });
          accepted.push(payload);
          return { token, clientId: String(payload.azp), scopes: [], expiresAt: payload.exp, extra: { claims: payload } };
        } catch (error) {
          throw new OAuthError(OAuthErrorCode.InvalidToken, error instanceof Error ? error.message : 'invalid token');
        }
      },
    },
  });
  const handler = createMcpHandler(({ authInfo }) => {
    const server = new McpServer({ name: 'keycloak-protected', version: '1.0.0' });
    const claims = (authInfo?.extra?.claims ?? {}) as JWTPayload & { preferred_username?: string };
    server.registerTool('whoami', { description: 'Who the token presented to this server speaks for.', inputSchema: z.object({}), annotations: { readOnlyHint: true } }, () => {
      const data = { sub: claims.sub ?? null, username: claims.preferred_username ?? null, azp: claims.azp ?? null, aud: claims.aud ?? null };
      return { content: [{ type: 'text', text: JSON.stringify(data) }], structuredContent: data };
    });
    return server;
  });
  const handle = toNodeHandler({
    fetch: async (request) => {
      const authInfo = await gate(request);
      return authInfo instanceof Response ? authInfo : handler.fetch(request, { authInfo });
    },
  });
  const http = createServer((req, res) => void handle(req, res));
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    accepted,
    async close() {
      await handler.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
