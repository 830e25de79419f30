/** The gateway's public signing keys (for upstream servers) and the admin view of tool pinning. */
import type { FastifyInstance } from 'fastify';
import type { GatewayConfig } from '../../config/schema.js';
import { GatewayError } from '../../errors.js';
import type { AssertionSigner } from '../../upstream/identity-assertion.js';
import type { ToolService } from '../../upstream/tool-service.js';
import { hasRole, identityOf } from '../authenticate.js';

export function registerJwksRoute(app: FastifyInstance, signer: AssertionSigner): void {
  app.get('/.well-known/jwks.json', async (_request, reply) => reply.header('cache-control', 'public, max-age=300').send(signer.jwks()));
}

export function registerPinAdminRoutes(app: FastifyInstance, tools: ToolService, config: GatewayConfig): void {
  const requireAdmin = (request: Parameters<typeof identityOf>[0]): void => {
    if (!hasRole(identityOf(request), config.auth.adminRole)) throw new GatewayError('AUTH_1004', { details: { required: config.auth.adminRole } });
  };
  app.get('/api/admin/pins', async (request) => {
    requireAdmin(request);
    return { pinning: config.upstream.pinning, changes: tools.catalogue.pinChanges() };
  });
  app.post<{ Params: { server: string; tool: string } }>('/api/admin/pins/:server/:tool/approve', async (request) => {
    requireAdmin(request);
    const approved = await tools.catalogue.approve(request.params.server, request.params.tool);
    if (!approved) throw new GatewayError('MCP_2005', { details: request.params });
    return { approved: true };
  });
}
