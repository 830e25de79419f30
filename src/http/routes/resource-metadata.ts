/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728): tells clients — MCP clients follow it from the
 * 401 challenge — which authorization server (the configured Keycloak realm) issues tokens for us.
 */
import type { FastifyInstance } from 'fastify';
import type { GatewayConfig } from '../../config/schema.js';
import { PROTECTED_RESOURCE_METADATA_PATH, publicBaseUrl } from '../authenticate.js';

export function registerResourceMetadata(app: FastifyInstance, config: GatewayConfig): void {
  const handler = async (request: Parameters<typeof publicBaseUrl>[0]) => {
    const base = publicBaseUrl(request, config);
    return {
      resource: request.url.endsWith('/mcp') ? `${base}/mcp` : base,
      authorization_servers: config.auth.issuers,
      bearer_methods_supported: ['header'],
      resource_name: 'MCP Gateway',
    };
  };
  app.get(PROTECTED_RESOURCE_METADATA_PATH, { schema: { hide: true } }, handler);
  app.get(`${PROTECTED_RESOURCE_METADATA_PATH}/mcp`, { schema: { hide: true } }, handler);
}
