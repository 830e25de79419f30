/**
 * DNS-rebinding protection for /mcp, as the MCP transport spec asks of servers: the Host header must
 * name this gateway, and an Origin header (browsers send one) must be this gateway or an allowed
 * browser origin. The parsing and matching are the SDK's own validators.
 */
import { localhostAllowedHostnames, validateHostHeader, validateOriginHeader } from '@modelcontextprotocol/server';
import type { GatewayConfig } from '../config/schema.js';
import { GatewayError } from '../errors.js';

/** Loopback names, the listen host (unless a wildcard), the publicUrl host, the CORS origins' hosts and server.allowedHosts. */
export function allowedHostnames(config: GatewayConfig): string[] {
  const names = new Set([...localhostAllowedHostnames(), ...config.server.allowedHosts]);
  if (!['0.0.0.0', '::', ''].includes(config.server.host)) names.add(config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host);
  for (const url of [config.server.publicUrl, ...config.server.cors.origins]) {
    if (url === undefined) continue;
    try {
      names.add(new URL(url).hostname);
    } catch {
      // A CORS origin that is not a URL (e.g. a pattern) names no host.
    }
  }
  return [...names];
}

export function checkHostAndOrigin(host: string | undefined, origin: string | undefined, hostnames: string[]): void {
  const hostCheck = validateHostHeader(host, hostnames);
  if (!hostCheck.ok) throw new GatewayError('REQ_4030', { details: { header: 'host' } });
  const originCheck = validateOriginHeader(origin, hostnames);
  if (!originCheck.ok) throw new GatewayError('REQ_4030', { details: { header: 'origin' } });
}
