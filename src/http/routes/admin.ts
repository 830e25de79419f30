/**
 * The admin view's data, for holders of `auth.adminRole`: one overview (readiness matrix, each
 * upstream's state and circuit, tool pins waiting for approval) and the recent audit records,
 * filterable by user, tool and decision. Revocations and pin approval have their own routes.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { GatewayConfig } from '../../config/schema.js';
import { GatewayError } from '../../errors.js';
import type { AuditLog } from '../../ops/audit.js';
import type { Health } from '../../ops/health.js';
import type { ToolService } from '../../upstream/tool-service.js';
import { hasRole, identityOf } from '../authenticate.js';

const AUDIT_LIMIT_MAX = 500;

const filterText = { type: 'string', minLength: 1, maxLength: 256 } as const;

export function registerAdminRoutes(app: FastifyInstance, deps: { health: Health; tools: ToolService; audit: AuditLog; config: GatewayConfig }): void {
  const { health, tools, audit, config } = deps;
  const requireAdmin = (request: FastifyRequest): void => {
    if (!hasRole(identityOf(request), config.auth.adminRole)) throw new GatewayError('AUTH_1004', { details: { required: config.auth.adminRole } });
  };

  app.get('/api/admin/overview', { schema: { summary: 'Readiness matrix, upstream states and circuits, tool pins (admins only)' } }, async (request) => {
    requireAdmin(request);
    const readiness = await health.readiness();
    const catalogue = tools.catalogue.tools();
    return {
      readiness,
      upstreams: Object.entries(config.servers).map(([name, server]) => {
        const status = tools.serverStatus(name);
        return {
          name,
          url: server.url,
          description: server.description,
          ok: status.ok,
          detail: status.detail ?? null,
          // The upstream reports an open breaker as its status detail; everything else leaves it closed.
          circuit: status.detail === 'circuit open' ? 'open' : 'closed',
          tools: catalogue.filter((tool) => tool.server === name).length,
        };
      }),
      pinning: config.upstream.pinning,
      pinChanges: tools.catalogue.pinChanges(),
    };
  });

  app.get<{ Querystring: { user?: string; tool?: string; decision?: string; limit?: string } }>(
    '/api/admin/audit',
    {
      schema: {
        summary: 'Recent audit records, newest first (admins only)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            user: { ...filterText, description: 'sub or username' },
            tool: { ...filterText, description: 'tool name, or server.tool' },
            decision: { type: 'string', pattern: '^[a-z_-]{1,32}$', description: 'allow, confirm, deny (tool calls); approve, reject, expired (confirmations)' },
            limit: { type: 'string', pattern: '^[0-9]{1,4}$', description: `at most ${AUDIT_LIMIT_MAX}` },
          },
        },
      },
    },
    async (request) => {
      requireAdmin(request);
      const { user, tool, decision, limit } = request.query;
      const count = limit === undefined ? 100 : Number(limit);
      if (count < 1 || count > AUDIT_LIMIT_MAX) throw new GatewayError('REQ_4000', { message: `limit must be 1-${AUDIT_LIMIT_MAX}` });
      return { records: await audit.query({ user, tool, decision, limit: count }) };
    },
  );
}
