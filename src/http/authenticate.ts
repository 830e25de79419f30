/**
 * The authentication step for /api routes: bearer token → verified identity → revocation check →
 * per-user rate limit. Failures are catalogued 401/403/429/503 errors, never 500s.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { rememberAccessToken } from '../auth/access-token.js';
import type { Identity } from '../auth/identity.js';
import type { RevocationMirror } from '../auth/revocation.js';
import type { TokenVerifier } from '../auth/token-verifier.js';
import type { GatewayConfig } from '../config/schema.js';
import { GatewayError } from '../errors.js';
import type { Metrics } from '../ops/metrics.js';
import { tierFor } from '../policy/rate-tier.js';
import type { PublicUrl } from './public-url.js';
import type { RateLimits } from './rate-limit.js';

declare module 'fastify' {
  interface FastifyRequest {
    identity: Identity | undefined;
  }
}

const BEARER = /^Bearer[ ]+([A-Za-z0-9._~+/=-]+)[ ]*$/i;

export interface AuthContext {
  verifier: TokenVerifier;
  revocations: RevocationMirror;
  rateLimits: RateLimits;
  metrics: Metrics;
  config: GatewayConfig;
  publicUrl: PublicUrl;
}

/** The identity of an authenticated request; routes behind the auth hook can rely on it. */
export function identityOf(request: FastifyRequest): Identity {
  if (request.identity === undefined) throw new GatewayError('AUTH_1001');
  return request.identity;
}

export function hasRole(identity: Identity, role: string): boolean {
  return identity.roles.includes(role);
}

async function authenticate(request: FastifyRequest, context: AuthContext): Promise<Identity> {
  const header = request.headers.authorization;
  if (header === undefined || header.trim() === '') throw new GatewayError('AUTH_1001');
  const match = BEARER.exec(header);
  if (match?.[1] === undefined) throw new GatewayError('AUTH_1002', { details: { reason: 'expected "Bearer <token>"' } });
  const identity = await context.verifier.verify(match[1]);
  context.revocations.check(identity);
  // Kept beside the identity for upstream token exchange (the subject token); never forwarded as is.
  rememberAccessToken(identity, match[1]);
  return identity;
}

/** Where clients (MCP clients in particular) discover which authorization server issues our tokens (RFC 9728). */
export const PROTECTED_RESOURCE_METADATA_PATH = '/.well-known/oauth-protected-resource';



/**
 * The protected resource a request path belongs to: the MCP endpoint (`/mcp`) is a resource of its
 * own, so an MCP client is sent to metadata whose `resource` is the URL it connected to; everything
 * else belongs to the gateway's API at the base URL ('').
 */
export function protectedResourcePath(url: string): '' | '/mcp' {
  const path = url.split('?', 1)[0] ?? '';
  return path === '/mcp' || path.startsWith('/mcp/') ? '/mcp' : '';
}

/** RFC 6750 challenge, with the RFC 9728 pointer MCP clients follow to find the identity provider. */
function challenge(request: FastifyRequest, context: AuthContext, error: GatewayError): string {
  const resourcePath = protectedResourcePath(request.url);
  const parts = [`Bearer realm="mcp-gateway"`, `resource_metadata="${context.publicUrl.base}${PROTECTED_RESOURCE_METADATA_PATH}${resourcePath}"`];
  // The MCP authorization spec has clients request the scopes the challenge names.
  if (resourcePath !== '' && context.config.auth.scopes.length > 0) parts.push(`scope="${context.config.auth.scopes.join(' ')}"`);
  if (error.code !== 'AUTH_1001') parts.push(`error="invalid_token"`, `error_description="${error.message.replace(/"/g, "'")}"`);
  return parts.join(', ');
}

export function authHook(context: AuthContext) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    let identity: Identity;
    try {
      identity = await authenticate(request, context);
    } catch (error) {
      const code = error instanceof GatewayError ? error.code : 'GATEWAY_9000';
      context.metrics.authValidations.inc({ result: code });
      if (error instanceof GatewayError && error.status === 401) {
        // The per-IP limit counts failed authentications only, and is checked only after one: many
        // people share an IP (a NAT, a proxy without trustProxy), so a valid token is never refused
        // for what others behind the same address sent.
        await context.rateLimits.recordAnonymousFailure(request.ip);
        throw new GatewayError(error.code, {
          message: error.message,
          details: error.details,
          cause: error,
          headers: { ...error.headers, 'www-authenticate': challenge(request, context, error) },
        });
      }
      throw error;
    }
    context.metrics.authValidations.inc({ result: 'ok' });
    request.identity = identity;
    await context.rateLimits.consume('api', identity.sub, tierFor(identity.roles, context.config.limits.tiers), reply);
  };
}
