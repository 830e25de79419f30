/**
 * OAuth token requests the gateway makes for upstream credentials: client credentials (RFC 6749
 * §4.4) and token exchange (RFC 8693). The requests themselves go through the MCP SDK's `fetchToken`
 * (client authentication, https-or-loopback check, token response validation); this module only says
 * which grant to ask for, caches the answers and turns refusals into catalogued errors.
 */
import {
  ClientCredentialsProvider,
  OAuthError,
  discoverAuthorizationServerMetadata,
  fetchToken,
  type AuthorizationServerMetadata,
  type OAuthTokens,
} from '@modelcontextprotocol/client';
import { GatewayError } from '../errors.js';

const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
/** Tokens are renewed this long before they expire, so none expires in flight. */
const EXPIRY_MARGIN_MS = 30_000;
/** When a token response names no lifetime, it is reused for this long. */
const DEFAULT_LIFETIME_MS = 60_000;
/** Refusals by the identity provider (RFC 6749 §5.2, RFC 8693 §2.2.2): the caller may not have this token. */
const REFUSALS = new Set(['invalid_grant', 'access_denied', 'unauthorized_client', 'invalid_target', 'invalid_scope', 'invalid_request']);

export interface CachedToken {
  readonly token: string;
  readonly expiresAtMs: number;
}

export interface TokenEndpoint {
  /** The token endpoint URL, or undefined to discover it from `issuer`. */
  readonly tokenEndpoint: string | undefined;
  readonly issuer: string | undefined;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly scopes: readonly string[];
}

/** The SDK's client-credentials provider asking for an RFC 8693 exchange instead (same client authentication). */
class TokenExchangeProvider extends ClientCredentialsProvider {
  constructor(
    options: ConstructorParameters<typeof ClientCredentialsProvider>[0] & { expectedIssuer: string },
    private readonly subjectToken: string,
    private readonly audience: string,
  ) {
    super(options);
  }

  override prepareTokenRequest(scope?: string): URLSearchParams {
    const params = new URLSearchParams({
      grant_type: TOKEN_EXCHANGE_GRANT,
      subject_token: this.subjectToken,
      subject_token_type: ACCESS_TOKEN_TYPE,
      requested_token_type: ACCESS_TOKEN_TYPE,
      audience: this.audience,
    });
    if (scope !== undefined && scope !== '') params.set('scope', scope);
    return params;
  }
}

export class TokenClient {
  private metadata: Promise<AuthorizationServerMetadata> | undefined;

  constructor(
    private readonly server: string,
    private readonly endpoint: TokenEndpoint,
  ) {}

  /** A client-credentials token for the configured client. */
  clientCredentials(): Promise<CachedToken> {
    return this.request((expectedIssuer) => new ClientCredentialsProvider({ ...this.clientOptions(), expectedIssuer }));
  }

  /** The caller's token exchanged for one whose audience is the upstream (RFC 8693). */
  exchange(subjectToken: string, audience: string): Promise<CachedToken> {
    return this.request((expectedIssuer) => new TokenExchangeProvider({ ...this.clientOptions(), expectedIssuer }, subjectToken, audience));
  }

  private clientOptions(): { clientId: string; clientSecret: string; scope?: string } {
    const scope = this.endpoint.scopes.join(' ');
    return { clientId: this.endpoint.clientId, clientSecret: this.endpoint.clientSecret, ...(scope === '' ? {} : { scope }) };
  }

  private async request(provider: (expectedIssuer: string) => ClientCredentialsProvider): Promise<CachedToken> {
    let metadata: AuthorizationServerMetadata;
    try {
      metadata = await this.serverMetadata();
    } catch (error) {
      this.metadata = undefined;
      throw this.unavailable(error);
    }
    let tokens: OAuthTokens;
    try {
      tokens = await fetchToken(provider(metadata.issuer), metadata.issuer, { metadata });
    } catch (error) {
      if (error instanceof OAuthError && REFUSALS.has(error.code)) {
        throw new GatewayError('MCP_2007', { details: { server: this.server, reason: `${error.code}: ${error.message}` }, cause: error });
      }
      throw this.unavailable(error);
    }
    const lifetimeMs = tokens.expires_in === undefined ? DEFAULT_LIFETIME_MS : tokens.expires_in * 1000;
    return { token: tokens.access_token, expiresAtMs: Date.now() + Math.max(0, lifetimeMs - Math.min(EXPIRY_MARGIN_MS, lifetimeMs / 2)) };
  }

  private unavailable(error: unknown): GatewayError {
    const reason = `token endpoint: ${error instanceof Error ? error.message : String(error)}`;
    return new GatewayError('MCP_2003', { details: { server: this.server, reason }, cause: error });
  }

  /** The configured token endpoint, or the one the issuer's OpenID configuration names (fetched once). */
  private serverMetadata(): Promise<AuthorizationServerMetadata> {
    const { tokenEndpoint, issuer } = this.endpoint;
    if (tokenEndpoint !== undefined) {
      // Only the token endpoint is used; the other members satisfy the metadata type.
      return Promise.resolve({ issuer: new URL(tokenEndpoint).origin, token_endpoint: tokenEndpoint, authorization_endpoint: tokenEndpoint, response_types_supported: [] });
    }
    if (issuer === undefined) return Promise.reject(new Error('no token endpoint configured and no issuer to discover it from'));
    this.metadata ??= discoverAuthorizationServerMetadata(issuer).then((found) => {
      if (found === undefined) throw new Error(`${issuer} publishes no OpenID configuration`);
      return found;
    });
    return this.metadata;
  }
}

/** A small bounded cache of tokens by key (user and server), dropping the oldest entry when full. */
export class TokenCache {
  private readonly entries = new Map<string, Promise<CachedToken>>();

  constructor(private readonly limit = 10_000) {}

  /** The cached token while it is valid; else one fetch, shared by concurrent callers. */
  async get(key: string, fetchToken: () => Promise<CachedToken>): Promise<string> {
    const cached = this.entries.get(key);
    if (cached !== undefined) {
      const token = await cached.catch(() => undefined);
      if (token !== undefined && token.expiresAtMs > Date.now()) return token.token;
      if (this.entries.get(key) === cached) this.entries.delete(key);
    }
    const pending = this.entries.get(key) ?? fetchToken();
    if (!this.entries.has(key)) {
      if (this.entries.size >= this.limit) {
        const oldest = this.entries.keys().next();
        if (oldest.done !== true) this.entries.delete(oldest.value);
      }
      this.entries.set(key, pending);
      pending.catch(() => {
        if (this.entries.get(key) === pending) this.entries.delete(key);
      });
    }
    return (await pending).token;
  }

  /** Forgets a token the upstream refused (a 401), so the next request fetches a fresh one. */
  invalidate(key: string): void {
    this.entries.delete(key);
  }
}
