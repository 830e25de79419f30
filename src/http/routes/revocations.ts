/**
 * Revocation entry points: the admin API (by jti, by session, or every token of a user issued
 * before a time) and OIDC Back-Channel Logout 1.0, so a Keycloak logout revokes that session here.
 */
import type { FastifyInstance } from 'fastify';
import type { Revocation, RevocationMirror } from '../../auth/revocation.js';
import type { TokenVerifier } from '../../auth/token-verifier.js';
import type { GatewayConfig } from '../../config/schema.js';
import { GatewayError } from '../../errors.js';
import { hasRole, identityOf } from '../authenticate.js';

const revocationBody = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    jti: { type: 'string', minLength: 1, maxLength: 256 },
    sid: { type: 'string', minLength: 1, maxLength: 256 },
    sub: { type: 'string', minLength: 1, maxLength: 256 },
    before: { type: 'string', format: 'date-time' },
    /** When the revoked token expires (seconds since epoch), if the caller knows; bounds how long it is kept. */
    exp: { type: 'integer', minimum: 0 },
  },
  oneOf: [{ required: ['jti'] }, { required: ['sid'] }, { required: ['sub', 'before'] }],
} as const;

interface RevocationBody {
  jti?: string;
  sid?: string;
  sub?: string;
  before?: string;
  exp?: number;
}

export function revocationFromBody(body: RevocationBody): Revocation {
  if (body.jti !== undefined) return { kind: 'jti', jti: body.jti };
  if (body.sid !== undefined) return { kind: 'sid', sid: body.sid };
  if (body.sub !== undefined && body.before !== undefined) return { kind: 'sub', sub: body.sub, beforeSec: Math.floor(Date.parse(body.before) / 1000) };
  throw new GatewayError('REQ_4000', { message: 'give jti, sid, or sub with before' });
}

/** Entries are kept until every token they cover has expired. */
export function revocationExpiry(revocation: Revocation, config: GatewayConfig['revocation'], knownExpSec?: number): number {
  const lifetimeMs = config.maxTokenLifetimeSec * 1000;
  if (revocation.kind === 'sub') return revocation.beforeSec * 1000 + lifetimeMs;
  if (knownExpSec !== undefined) return knownExpSec * 1000;
  return Date.now() + lifetimeMs;
}

/** Admin routes; registered inside the authenticated /api scope. */
export function registerRevocationAdminRoutes(app: FastifyInstance, revocations: RevocationMirror, config: GatewayConfig): void {
  app.post<{ Body: RevocationBody }>('/api/admin/revocations', { schema: { body: revocationBody } }, async (request, reply) => {
    const identity = identityOf(request);
    if (!hasRole(identity, config.auth.adminRole)) throw new GatewayError('AUTH_1004', { details: { required: config.auth.adminRole } });
    const revocation = revocationFromBody(request.body);
    const expiresAtMs = revocationExpiry(revocation, config.revocation, request.body.exp);
    await revocations.revoke(revocation, expiresAtMs);
    request.log.info({ revocation, by: identity.sub }, 'revoked');
    return reply.status(201).send({ revoked: revocation, expiresAt: new Date(expiresAtMs).toISOString() });
  });
}

/** OIDC Back-Channel Logout 1.0 endpoint; authenticated by the signed logout token itself. */
export async function registerBackchannelLogout(app: FastifyInstance, verifier: TokenVerifier, revocations: RevocationMirror, config: GatewayConfig): Promise<void> {
  await app.register(async (scope) => {
    // The spec posts a form; only this route accepts one, so the parser lives in its own scope.
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(String(body))));
    });
    scope.post<{ Body: { logout_token?: unknown } | undefined }>('/backchannel-logout', async (request, reply) => {
      void reply.header('cache-control', 'no-store');
      const token = request.body?.logout_token;
      if (typeof token !== 'string' || token === '') throw new GatewayError('AUTH_1007', { details: { reason: 'logout_token is required' } });
      const { sid, sub } = await verifier.verifyLogoutToken(token);
      const revocation: Revocation =
        sid !== undefined ? { kind: 'sid', sid } : { kind: 'sub', sub: sub ?? '', beforeSec: Math.floor(Date.now() / 1000) + 1 };
      await revocations.revoke(revocation, revocationExpiry(revocation, config.revocation));
      request.log.info({ revocation }, 'back-channel logout');
      return reply.status(200).send();
    });
  });
}
