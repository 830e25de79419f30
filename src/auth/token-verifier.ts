/**
 * Verifies bearer access tokens against the issuer's JWKS with jose: cached keys, one refetch per
 * unknown `kid` with a cooldown (jose's RemoteJWKSet), an algorithm allow-list, and Keycloak's claims.
 */
import { ExponentialBackoff, handleAll, retry } from 'cockatiel';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { GatewayConfig } from '../config/schema.js';
import { GatewayError } from '../errors.js';
import { identityFromClaims, type Identity } from './identity.js';

type AuthConfig = GatewayConfig['auth'];

/** Header `typ`s an access token may carry; anything else (e.g. `logout+jwt`) is another kind of token. */
const ACCESS_TOKEN_HEADER_TYPES = new Set(['jwt', 'at+jwt', 'application/at+jwt']);

const VERIFIED_CACHE_SIZE = 10_000;
const VERIFIED_CACHE_MAX_AGE_MS = 60_000;

function invalid(reason: string, cause?: unknown): GatewayError {
  return new GatewayError('AUTH_1002', { details: { reason }, cause });
}

/** Is this a failure to reach the issuer (our problem) rather than a bad token (the caller's)? */
function isIssuerUnreachable(error: unknown): boolean {
  if (error instanceof joseErrors.JWKSTimeout) return true;
  if (error instanceof joseErrors.JOSEError) return error instanceof joseErrors.JWKSInvalid;
  return error instanceof TypeError; // fetch() failed: connection refused, DNS, reset
}

function reasonFor(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `claim ${error.claim} ${error.reason}`;
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'algorithm not allowed';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'unknown signing key';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'bad signature';
  return 'malformed token';
}

export class TokenVerifier {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;
  private readonly audiences: ReadonlySet<string>;
  /** Whose logout tokens count: ours, and those of the clients people sign in with (console, MCP clients). */
  private readonly logoutAudiences: readonly string[];
  private lastJwksError: string | undefined = 'not fetched yet';
  private readonly verified = new Map<string, { identity: Identity; validUntilMs: number }>();

  constructor(private readonly config: AuthConfig) {
    this.jwks = createRemoteJWKSet(new URL(config.jwksUri), {
      cooldownDuration: config.jwksCooldownMs,
      cacheMaxAge: config.jwksCacheMaxAgeMs,
      timeoutDuration: config.jwksTimeoutMs,
    });
    this.audiences = new Set([config.clientId, ...config.audiences]);
    this.logoutAudiences = [...new Set([...this.audiences, ...config.backchannelLogout.trustedClients])];
  }

  /**
   * Fetches the JWKS at start-up with exponential backoff, in the background: the gateway starts
   * anyway and readiness reports the issuer down until this succeeds.
   */
  warmUp(signal: AbortSignal): Promise<void> {
    const policy = retry(handleAll, {
      maxAttempts: Number.MAX_SAFE_INTEGER,
      backoff: new ExponentialBackoff({ initialDelay: 200, maxDelay: 10_000 }),
    });
    return policy
      .execute(async () => this.refreshKeys(), signal)
      .catch(() => undefined);
  }

  async refreshKeys(): Promise<void> {
    try {
      await this.jwks.reload();
      this.lastJwksError = undefined;
    } catch (error) {
      this.lastJwksError = error instanceof Error ? error.message : String(error);
      throw error;
    }
  }

  /** For readiness: is a key set cached, or does the issuer answer now? */
  async issuerStatus(): Promise<{ ok: boolean; detail?: string }> {
    if (this.jwks.fresh && this.lastJwksError === undefined) return { ok: true };
    try {
      await this.refreshKeys();
      return { ok: true };
    } catch {
      return { ok: false, detail: `JWKS unavailable: ${this.lastJwksError ?? 'unknown error'}` };
    }
  }

  /**
   * Verifies a bearer token. A token that verified recently is answered from a small cache (bounded in
   * size, and in age so a key the issuer withdraws stops counting within a minute); the revocation
   * check is not cached, it runs on every request.
   */
  async verify(token: string): Promise<Identity> {
    const nowMs = Date.now();
    const cached = this.verified.get(token);
    if (cached !== undefined && cached.validUntilMs > nowMs) return cached.identity;
    const identity = await this.verifyUncached(token);
    if (this.verified.size >= VERIFIED_CACHE_SIZE) {
      // Maps iterate in insertion order: the first key is the oldest entry.
      const oldest = this.verified.keys().next();
      if (oldest.done !== true) this.verified.delete(oldest.value);
    }
    const expiryMs = (identity.exp + this.config.clockToleranceSec) * 1000;
    this.verified.set(token, { identity, validUntilMs: Math.min(expiryMs, nowMs + VERIFIED_CACHE_MAX_AGE_MS) });
    return identity;
  }

  private async verifyUncached(token: string): Promise<Identity> {
    let payload: JWTPayload;
    let headerType: unknown;
    try {
      const result = await jwtVerify(token, this.jwks, {
        issuer: this.config.issuers,
        algorithms: this.config.algorithms,
        clockTolerance: this.config.clockToleranceSec,
        requiredClaims: ['sub', 'exp'],
      });
      payload = result.payload;
      headerType = result.protectedHeader.typ;
      this.lastJwksError = undefined;
    } catch (error) {
      if (isIssuerUnreachable(error)) {
        this.lastJwksError = error instanceof Error ? error.message : String(error);
        throw new GatewayError('AUTH_1006', { cause: error });
      }
      throw invalid(reasonFor(error), error);
    }
    if (headerType !== undefined && !(typeof headerType === 'string' && ACCESS_TOKEN_HEADER_TYPES.has(headerType.toLowerCase()))) {
      throw invalid(`not an access token (typ ${JSON.stringify(headerType)})`);
    }
    // Keycloak marks token kinds in the payload: an ID token ("ID") or refresh token must not pass as access.
    if (payload.typ !== undefined && payload.typ !== 'Bearer') throw invalid('not an access token');
    // jose checks only the claims it is asked to; a non-string, non-array `aud` must not become a 500 here.
    const audience = typeof payload.aud === 'string' ? [payload.aud] : Array.isArray(payload.aud) ? payload.aud : [];
    if (!audience.some((aud) => this.audiences.has(aud)) && !(typeof payload.azp === 'string' && this.audiences.has(payload.azp))) {
      throw invalid('audience does not name this gateway');
    }
    if (typeof payload.sub !== 'string' || payload.sub === '' || typeof payload.exp !== 'number') throw invalid('sub and exp are required');
    return identityFromClaims({ ...payload, sub: payload.sub, exp: payload.exp }, this.config.clientId);
  }

  /** Verifies an OIDC Back-Channel Logout 1.0 logout token; returns the session and/or subject to revoke. */
  async verifyLogoutToken(token: string): Promise<{ sid?: string; sub?: string; exp: number }> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks, {
        issuer: this.config.issuers,
        audience: [...this.logoutAudiences],
        algorithms: this.config.algorithms,
        clockTolerance: this.config.clockToleranceSec,
        requiredClaims: ['iat', 'jti'],
      }));
    } catch (error) {
      throw new GatewayError('AUTH_1007', { details: { reason: reasonFor(error) }, cause: error });
    }
    const events = payload.events;
    const isLogout = events !== null && typeof events === 'object' && 'http://schemas.openid.net/event/backchannel-logout' in events;
    const sid = typeof payload.sid === 'string' ? payload.sid : undefined;
    const sub = typeof payload.sub === 'string' ? payload.sub : undefined;
    if (!isLogout) throw new GatewayError('AUTH_1007', { details: { reason: 'missing back-channel logout event' } });
    if (sid === undefined && sub === undefined) throw new GatewayError('AUTH_1007', { details: { reason: 'neither sid nor sub' } });
    // The spec forbids a nonce so that an ID token can never be replayed as a logout token.
    if (payload.nonce !== undefined) throw new GatewayError('AUTH_1007', { details: { reason: 'nonce is not allowed' } });
    return { sid, sub, exp: typeof payload.exp === 'number' ? payload.exp : Math.floor(Date.now() / 1000) + 120 };
  }
}
