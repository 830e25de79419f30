/**
 * The identity the gateway vouches for to upstream servers: a short-lived JWT signed with the
 * gateway's own key (published at /.well-known/jwks.json), one per user and server, reused while it
 * has a comfortable margin of validity. The user's own access token is never forwarded.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, importPKCS8, type CryptoKey, type JWK } from 'jose';
import type { Identity } from '../auth/identity.js';
import type { GatewayConfig } from '../config/schema.js';

type AssertionConfig = GatewayConfig['upstream']['assertion'];

/** The `azp` of every assertion: the party that obtained it. */
export const GATEWAY_AUTHORIZED_PARTY = 'mcp-gateway';
/** Reuse an assertion only while it still has this long to live, so it cannot expire in flight. */
const REUSE_MARGIN_SEC = 15;
const CACHE_LIMIT = 10_000;

export interface SigningKey {
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
  readonly algorithm: 'RS256' | 'ES256';
}

export async function loadSigningKey(config: AssertionConfig): Promise<SigningKey> {
  const pem = config.privateKeyPem ?? (config.privateKeyFile === undefined ? undefined : await readFile(config.privateKeyFile, 'utf8'));
  let privateKey: CryptoKey;
  let publicSource: CryptoKey;
  if (pem === undefined) {
    const pair = await generateKeyPair(config.algorithm, { extractable: true });
    privateKey = pair.privateKey;
    publicSource = pair.publicKey;
  } else {
    privateKey = await importPKCS8(pem, config.algorithm, { extractable: true });
    publicSource = privateKey;
  }
  const jwk = await exportJWK(publicSource);
  // Only the public members are ever published.
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicMembers } = jwk;
  const kid = await calculateJwkThumbprint(publicMembers);
  return { privateKey, algorithm: config.algorithm, publicJwk: { ...publicMembers, kid, alg: config.algorithm, use: 'sig' } };
}

export class AssertionSigner {
  private readonly cache = new Map<string, { token: string; exp: number }>();

  constructor(
    private readonly key: SigningKey,
    private readonly issuer: string,
    private readonly ttlSec: number,
  ) {}

  /**
   * A secret for `label` derived from the signing key: every replica shares it exactly as they share
   * the key (so what one replica seals, another can verify), and it changes when the key does.
   */
  async derivedSecret(label: string): Promise<Buffer> {
    const material = Buffer.from(await crypto.subtle.exportKey('pkcs8', this.key.privateKey));
    return createHmac('sha256', material).update(`mcp-gateway derived secret\0${label}`).digest();
  }

  jwks(): { keys: JWK[] } {
    return { keys: [this.key.publicJwk] };
  }

  async assertionFor(identity: Identity, audience: string): Promise<string> {
    const cacheKey = `${identity.sub}\u0000${audience}\u0000${identity.roles.join(',')}`;
    const nowSec = Math.floor(Date.now() / 1000);
    const cached = this.cache.get(cacheKey);
    if (cached !== undefined && cached.exp - nowSec > REUSE_MARGIN_SEC) return cached.token;
    // Never outlive the user's own token.
    const exp = Math.min(nowSec + this.ttlSec, identity.exp);
    const token = await new SignJWT({
      username: identity.username,
      email: identity.email,
      roles: [...identity.roles],
      azp: GATEWAY_AUTHORIZED_PARTY,
    })
      .setProtectedHeader({ alg: this.key.algorithm, kid: this.key.publicJwk.kid, typ: 'JWT' })
      .setIssuer(this.issuer)
      .setAudience(audience)
      .setSubject(identity.sub)
      .setIssuedAt(nowSec)
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(this.key.privateKey);
    if (this.cache.size >= CACHE_LIMIT) {
      // Maps iterate in insertion order: dropping the first entry drops the oldest.
      const oldest = this.cache.keys().next();
      if (oldest.done !== true) this.cache.delete(oldest.value);
    }
    this.cache.set(cacheKey, { token, exp });
    return token;
  }
}
