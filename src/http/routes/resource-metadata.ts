/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728): tells clients — MCP clients follow it from the
 * 401 challenge — which authorization server (the configured Keycloak realm) issues tokens for us.
 * Two resources are described: the gateway's API as a whole (the root document) and its MCP endpoint
 * (`/.well-known/oauth-protected-resource/mcp`, whose `resource` is the `/mcp` URL, as RFC 9728 §3.1
 * derives the well-known URL from the resource's path and §3.3 makes clients check the match).
 */
import type { FastifyInstance } from 'fastify';
import type { GatewayConfig } from '../../config/schema.js';
import { PROTECTED_RESOURCE_METADATA_PATH, protectedResourcePath } from '../authenticate.js';
import type { PublicUrl } from '../public-url.js';

/** Only public issuers are published; internal split-horizon URLs would be unreachable for clients. */
export function advertisedIssuers(config: GatewayConfig): string[] {
  return config.auth.publicIssuers ?? config.auth.issuers.slice(0, 1);
}

export function registerResourceMetadata(app: FastifyInstance, config: GatewayConfig, publicUrl: PublicUrl): void {
  const document = (resourcePath: string) => ({
    resource: `${publicUrl.base}${resourcePath}`,
    authorization_servers: advertisedIssuers(config),
    scopes_supported: config.auth.scopes,
    bearer_methods_supported: ['header'],
    resource_name: resourcePath === '' ? 'MCP Gateway' : 'MCP Gateway (MCP endpoint)',
  });
  app.get(PROTECTED_RESOURCE_METADATA_PATH, { schema: { hide: true } }, async () => document(''));
  const mcp = protectedResourcePath('/mcp');
  app.get(`${PROTECTED_RESOURCE_METADATA_PATH}${mcp}`, { schema: { hide: true } }, async () => document(mcp));
}
