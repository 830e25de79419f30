/**
 * Verifies bearer access tokens with jose against the issuer's keys (see issuer-keys.ts: refreshed in
 * the background, served stale while the provider is down, unknown kids refetched at most once per
 * cooldown), with an algorithm allow-list, Keycloak's claims, and checks that an ID token or a logout
 * token never passes as an access token.
 */
import { decodeJwt, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { GatewayConfig } from '../config/schema.js';
import { GatewayError } from '../errors.js';
import type { DependencyStatus } from '../ops/health.js';
import { identityFromClaims, type Identity } from './identity.js';
import { IssuerKeys } from './issuer-keys.js';

type AuthConfig = GatewayConfig['auth'];

/** Header `typ`s an access token may carry; anything else (e.g. `logout+jwt`) is another kind of token. */
const ACCESS_TOKEN_HEADER_TYPES = new Set(['jwt', 'at+jwt', 'application/at+jwt']);
/** RFC 9068: the header `typ` of a JWT access token. */
const RFC9068_TYPES = new Set(['at+jwt', 'application/at+jwt']);
/** Claims only ID tokens carry (OIDC Core 2 and 3.3.2.11); decisive when the provider marks no `typ`. */
const ID_TOKEN_CLAIMS = ['nonce', 'at_hash', 'c_hash', 's_hash'] as const;

const VERIFIED_CACHE_SIZE = 10_000;
const VERIFIED_CACHE_MAX_AGE_MS = 60_000;

function invalid(reason: string, cause?: unknown): GatewayError {
  return new GatewayError('AUTH_1002', { details: { reason }, cause });
}

function reasonFor(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `claim ${error.claim} ${error.reason}`;
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'algorithm not allowed';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'unknown signing key';
  if (error instanceof joseErrors.JWKSMultipleMatchingKeys) return 'ambiguous signing key';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'bad signature';
  return 'malformed token';
}

/** The access-token shape checks that jose's claim options do not cover. */
function accessTokenProblem(headerType: unknown, payload: JWTPayload, requireRfc9068: boolean): string | undefined {
  const typ = typeof headerType === 'string' ? headerType.toLowerCase() : undefined;
  if (headerType !== undefined && (typ === undefined || !ACCESS_TOKEN_HEADER_TYPES.has(typ))) return `not an access token (typ ${JSON.stringify(headerType)})`;
  if (requireRfc9068 && (typ === undefined || !RFC9068_TYPES.has(typ))) return 'not an RFC 9068 access token (typ must be at+jwt)';
  // Keycloak marks token kinds in the payload: an ID token ("ID") or refresh token must not pass as access.
  if (payload.typ !== undefined) return payload.typ === 'Bearer' ? undefined : 'not an access token';
  // A provider that marks nothing: an ID token still gives itself away by its own claims.
  if (typ === undefined || !RFC9068_TYPES.has(typ)) {
    const marker = ID_TOKEN_CLAIMS.find((claim) => payload[claim] !== undefined);
    if (marker !== undefined) return `an ID token, not an access token (${marker} present)`;
  }
  return undefined;
}

/**
 * The token's `iss` before any key lookup: a token of another issuer can never verify against our
 * keys, so it must not cost a JWKS fetch nor be told to retry (503) while a refetch cools down.
 */
function foreignIssuerProblem(token: string, issuers: readonly string[]): string | undefined {
  let iss: unknown;
  try {
    iss = decodeJwt(token).iss;
  } catch {
    return 'malformed token';
  }
  return typeof iss === 'string' && issuers.includes(iss) ? undefined : 'claim iss unexpected';
}

export class TokenVerifier {
  private readonly keys: IssuerKeys;
  private readonly audiences: ReadonlySet<string>;
  /** Whose logout tokens count: ours, and those of the clients people sign in with (console, MCP clients). */
  private readonly logoutAudiences: readonly string[];
  private readonly verified = new Map<string, { identity: Identity; kid: string | undefined; validUntilMs: number }>();

  constructor(private readonly config: AuthConfig) {
    this.keys = new IssuerKeys(
      {
        jwksUri: config.jwksUri,
        timeoutMs: config.jwksTimeoutMs,
        refreshIntervalMs: config.jwksRefreshIntervalMs,
        maxStaleMs: config.jwksMaxStaleMs,
        cooldownMs: config.jwksCooldownMs,
      },
      (withdrawn) => this.forgetTokensOf(withdrawn),
    );
    this.audiences = new Set([config.clientId, ...config.audiences]);
    this.logoutAudiences = [...new Set([...this.audiences, ...config.backchannelLogout.trustedClients])];
  }

  /** Starts the background key refresh (the first fetch happens now; the gateway starts anyway). */
  start(): void {
    this.keys.start();
  }

  stop(): void {
    this.keys.stop();
  }

  /** Fetches the key set now. */
  refreshKeys(): Promise<void> {
    return this.keys.refresh();
  }

  /** For readiness: `up`, `degraded` (provider unreachable, cached keys serving) or `down` (no usable keys). */
  issuerStatus(): DependencyStatus {
    return this.keys.status();
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
    const { identity, kid } = await this.verifyUncached(token);
    if (this.verified.size >= VERIFIED_CACHE_SIZE) {
      // Maps iterate in insertion order: the first key is the oldest entry.
      const oldest = this.verified.keys().next();
      if (oldest.done !== true) this.verified.delete(oldest.value);
    }
    const expiryMs = (identity.exp + this.config.clockToleranceSec) * 1000;
    this.verified.set(token, { identity, kid, validUntilMs: Math.min(expiryMs, nowMs + VERIFIED_CACHE_MAX_AGE_MS) });
    return identity;
  }

  /** A key the provider withdrew must stop counting now, not when cached verdicts age out. */
  private forgetTokensOf(kids: ReadonlySet<string>): void {
    for (const [token, entry] of this.verified) if (entry.kid !== undefined && kids.has(entry.kid)) this.verified.delete(token);
  }

  private async verifyUncached(token: string): Promise<{ identity: Identity; kid: string | undefined }> {
    let payload: JWTPayload;
    let headerType: unknown;
    let kid: string | undefined;
    const foreign = foreignIssuerProblem(token, this.config.issuers);
    if (foreign !== undefined) throw invalid(foreign);
    try {
      const result = await jwtVerify(token, this.keys.resolve, {
        issuer: this.config.issuers,
        algorithms: this.config.algorithms,
        clockTolerance: this.config.clockToleranceSec,
        requiredClaims: ['sub', 'exp'],
      });
      payload = result.payload;
      headerType = result.protectedHeader.typ;
      kid = result.protectedHeader.kid;
    } catch (error) {
      // The provider unreachable (AUTH_1006) or an unknown kid while a refetch cools down (AUTH_1008).
      if (error instanceof GatewayError) throw error;
      throw invalid(reasonFor(error), error);
    }
    const problem = accessTokenProblem(headerType, payload, this.config.requireRfc9068AccessTokens);
    if (problem !== undefined) throw invalid(problem);
    // jose checks only the claims it is asked to; a non-string, non-array `aud` must not become a 500 here.
    const audience = typeof payload.aud === 'string' ? [payload.aud] : Array.isArray(payload.aud) ? payload.aud : [];
    if (!audience.some((aud) => this.audiences.has(aud)) && !(typeof payload.azp === 'string' && this.audiences.has(payload.azp))) {
      throw invalid('audience does not name this gateway');
    }
    if (typeof payload.sub !== 'string' || payload.sub === '' || typeof payload.exp !== 'number') throw invalid('sub and exp are required');
    return { identity: identityFromClaims({ ...payload, sub: payload.sub, exp: payload.exp }, this.config.clientId), kid };
  }

  /** Verifies an OIDC Back-Channel Logout 1.0 logout token; returns the session and/or subject to revoke. */
  async verifyLogoutToken(token: string): Promise<{ sid?: string; sub?: string; exp: number }> {
    let payload: JWTPayload;
    const foreign = foreignIssuerProblem(token, this.config.issuers);
    if (foreign !== undefined) throw new GatewayError('AUTH_1007', { details: { reason: foreign } });
    try {
      ({ payload } = await jwtVerify(token, this.keys.resolve, {
        issuer: this.config.issuers,
        audience: [...this.logoutAudiences],
        algorithms: this.config.algorithms,
        clockTolerance: this.config.clockToleranceSec,
        requiredClaims: ['iat', 'jti'],
      }));
    } catch (error) {
      // Our key trouble is retryable for the provider (it retries logout deliveries); the token's is not.
      if (error instanceof GatewayError) throw error;
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
