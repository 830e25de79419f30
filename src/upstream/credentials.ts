/**
 * One upstream server's credentials, applied by its transport: plain headers through the transport's
 * fetch (the identity assertion), and an SDK `AuthProvider` for a bearer credential (a static key,
 * an OAuth client-credentials token, or an RFC 8693 exchanged token), which the SDK sends as
 * `Authorization: Bearer` and, on a 401, refreshes once and retries. stdio servers have no headers:
 * they get the caller's identity in the request's `_meta` instead.
 */
import type { AuthProvider } from '@modelcontextprotocol/client';
import type { GatewayConfig, UpstreamServerConfig } from '../config/schema.js';
import { GatewayError } from '../errors.js';
import { currentCallContext, type Caller } from './call-context.js';
import type { AssertionSigner } from './identity-assertion.js';
import { TokenCache, TokenClient } from './token-client.js';

/** The `_meta` key under which stdio servers receive the caller's identity (documented in the README). */
export const IDENTITY_META_KEY = 'mcp-gateway/identity';

export interface IdentityMeta {
  sub: string;
  username: string;
  email?: string;
  roles: string[];
  /** The signed identity assertion, for servers that verify it against the gateway's JWKS. */
  assertion: string;
}

interface AssertionPlacement {
  readonly header: string;
  /** `authorization` carries `Bearer <jwt>`; any other header the bare JWT. */
  readonly bearer: boolean;
}

export class ServerCredentials {
  /** For bearer-type credentials; undefined when everything goes in plain headers. */
  readonly authProvider: AuthProvider | undefined;
  private readonly assertion: AssertionPlacement | undefined;
  private readonly tokens = new TokenCache();
  private readonly tokenClient: TokenClient | undefined;
  /** Prepares the bearer token of a caller before a request (so refusals surface as catalogued errors). */
  private readonly bearerFor: ((caller: Caller) => Promise<string>) | undefined;
  private readonly cacheKey: (caller: Caller) => string = () => '';

  constructor(
    private readonly server: string,
    config: UpstreamServerConfig,
    private readonly gateway: { readonly signer: AssertionSigner; readonly upstream: GatewayConfig['upstream']; readonly auth: GatewayConfig['auth'] },
    private readonly serviceCaller: Caller,
  ) {
    const auth = config.auth ?? { type: 'assertion' as const, header: undefined };
    switch (auth.type) {
      case 'none':
        break;
      case 'assertion': {
        const header = (auth.header ?? gateway.upstream.assertion.header).toLowerCase();
        this.assertion = { header, bearer: header === 'authorization' };
        break;
      }
      case 'bearer': {
        const token = auth.token;
        this.bearerFor = () => Promise.resolve(token);
        break;
      }
      case 'oauth2-client-credentials': {
        const client = new TokenClient(server, { tokenEndpoint: auth.tokenEndpoint, issuer: undefined, clientId: auth.clientId, clientSecret: auth.clientSecret, scopes: auth.scopes });
        this.tokenClient = client;
        this.bearerFor = () => this.tokens.get('', () => client.clientCredentials());
        break;
      }
      case 'token-exchange': {
        const client = new TokenClient(server, {
          tokenEndpoint: auth.tokenEndpoint,
          issuer: gateway.auth.issuers[0],
          clientId: auth.clientId ?? gateway.auth.clientId,
          clientSecret: auth.clientSecret,
          scopes: auth.scopes,
        });
        this.tokenClient = client;
        const audience = auth.audience;
        // The gateway's own traffic (listing tools) has no user token: it uses the same client's own grant.
        this.cacheKey = (caller) => (caller.service ? '\u0000service' : caller.identity.sub);
        this.bearerFor = (caller) =>
          this.tokens.get(this.cacheKey(caller), () => {
            if (caller.service) return client.clientCredentials();
            if (caller.accessToken === undefined) {
              return Promise.reject(new GatewayError('MCP_2007', { details: { server, reason: 'no access token of the caller to exchange' } }));
            }
            return client.exchange(caller.accessToken, audience);
          });
        break;
      }
    }
    if (auth.type !== 'none' && auth.type !== 'assertion' && auth.assertionHeader !== undefined) {
      this.assertion = { header: auth.assertionHeader.toLowerCase(), bearer: false };
    }
    const bearerFor = this.bearerFor;
    if (bearerFor !== undefined) {
      this.authProvider = {
        token: () => bearerFor(this.callerNow()),
        // Only fetched tokens can be refreshed; a static key refused by the server stays refused.
        onUnauthorized: this.tokenClient === undefined ? undefined : async () => this.tokens.invalidate(this.cacheKey(this.callerNow())),
      };
    }
  }

  /** Obtains (or finds cached) the caller's bearer token before a request, so a refusal is a catalogued 403. */
  async prepare(caller: Caller): Promise<void> {
    await this.bearerFor?.(caller);
  }

  /** Plain credential headers of one HTTP request (the assertion, where configured). */
  async headers(caller: Caller | undefined): Promise<Record<string, string>> {
    if (this.assertion === undefined) return {};
    const jwt = await this.assertionFor(caller ?? this.serviceCaller);
    return { [this.assertion.header]: this.assertion.bearer ? `Bearer ${jwt}` : jwt };
  }

  /** The `_meta` a stdio server receives with each call: who the caller is, vouched for by the gateway. */
  async meta(caller: Caller): Promise<Record<string, unknown> | undefined> {
    if (this.assertion === undefined) return undefined;
    const { identity } = caller;
    const value: IdentityMeta = {
      sub: identity.sub,
      username: identity.username,
      ...(identity.email === undefined ? {} : { email: identity.email }),
      roles: [...identity.roles],
      assertion: await this.assertionFor(caller),
    };
    return { [IDENTITY_META_KEY]: value };
  }

  private assertionFor(caller: Caller): Promise<string> {
    return this.gateway.signer.assertionFor(caller.identity, this.server);
  }

  private callerNow(): Caller {
    return currentCallContext()?.caller ?? this.serviceCaller;
  }
}
