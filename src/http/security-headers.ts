/**
 * The security headers of every response (helmet's), computed once at start-up: they depend only on
 * the configuration, so running helmet's middleware per request (as @fastify/helmet does) rebuilt
 * the same Content-Security-Policy string and header set on every request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from 'helmet';
import type { GatewayConfig } from '../config/schema.js';

/** Origins the console's OIDC sign-in fetches from (none unless console.signIn is configured). */
function signInOrigins(config: GatewayConfig): string[] {
  const issuer = config.console.signIn?.issuer;
  return issuer === undefined ? [] : [new URL(issuer).origin];
}

/** Runs helmet once against a recording response and returns the headers it set. */
export function securityHeaders(config: GatewayConfig): Readonly<Record<string, string>> {
  const middleware = helmet({
    // The API serves JSON and SSE; the console's CSP allows only its own scripts.
    // No upgrade-insecure-requests: behind TLS it is moot, and on plain HTTP (a lab, a private network) it would break the console.
    // The console's sign-in talks to the identity provider (discovery, token endpoint), so its origin may be connected to.
    contentSecurityPolicy: { directives: { defaultSrc: ["'self'"], scriptSrc: ["'self'"], connectSrc: ["'self'", ...signInOrigins(config)], upgradeInsecureRequests: null } },
    crossOriginResourcePolicy: { policy: 'same-origin' },
  });
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
      return recorder;
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  let failure: unknown;
  // helmet's middleware is synchronous and reads nothing from the request for these options.
  middleware({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => {
    failure = error;
  });
  if (failure !== undefined) throw failure instanceof Error ? failure : new Error('helmet refused its options');
  return Object.freeze(headers);
}
