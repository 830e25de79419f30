/**
 * Verifies the gateway's signed identity assertion. The sample servers trust nothing else: not the
 * user's own token, not headers. Plugged into the SDK's bearer gate, which answers failures with
 * `401` + `WWW-Authenticate: Bearer error="invalid_token", ...`.
 */
import { OAuthError, OAuthErrorCode, type AuthInfo, type OAuthTokenVerifier } from '@modelcontextprotocol/server';
import { errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { callerClaims } from './caller.js';

export interface AssertionTrust {
  /** The gateway, as named in `iss`. */
  issuer: string;
  /** This server's name, as named in `aud`. */
  audience: string;
  keys: JWTVerifyGetKey;
}

const ALGORITHMS = ['ES256', 'RS256'];

/**
 * True when the token itself is at fault. Failing to obtain the keys (JWKS timeout, unusable JWKS,
 * network errors) is the server's problem and must not look like a bad token to the caller.
 */
function isTokenRejection(error: unknown): error is errors.JOSEError {
  return error instanceof errors.JOSEError && !(error instanceof errors.JWKSTimeout) && !(error instanceof errors.JWKSInvalid);
}

export function assertionVerifier(trust: AssertionTrust): OAuthTokenVerifier {
  return {
    async verifyAccessToken(token: string): Promise<AuthInfo> {
      let payload;
      try {
        ({ payload } = await jwtVerify(token, trust.keys, {
          issuer: trust.issuer,
          audience: trust.audience,
          algorithms: ALGORITHMS,
          requiredClaims: ['exp', 'sub'],
        }));
      } catch (error) {
        if (isTokenRejection(error)) throw new OAuthError(OAuthErrorCode.InvalidToken, `identity assertion rejected: ${error.message}`);
        throw error;
      }
      const claims = callerClaims.safeParse(payload);
      if (!claims.success) throw new OAuthError(OAuthErrorCode.InvalidToken, 'identity assertion lacks sub, username or roles');
      return { token, clientId: trust.issuer, scopes: [], expiresAt: payload.exp, extra: claims.data };
    },
  };
}
