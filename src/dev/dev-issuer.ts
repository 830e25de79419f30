/**
 * The embedded development OIDC issuer: `oauth2-mock-server` (real RS256 keys, real JWKS and token
 * endpoints) dressed to issue access tokens shaped like Keycloak's for the demo users.
 * Never used by production code paths; the demo profile and the tests start it.
 */
import { randomUUID } from 'node:crypto';
import { OAuth2Server } from 'oauth2-mock-server';
import type { TokenRequestIncomingMessage } from 'oauth2-mock-server';
import { findDemoUser, type DemoUser } from './demo-users.js';
import { serveWithLoginPage, type TokenRequestOwner } from './dev-login.js';
import { machineGrants, type MachineGrantCounts, type MachineGrantOptions } from './dev-machine-grants.js';

export const DEV_CLIENT_ID = 'mcp-gateway';
/** The gateway client's secret at the dev issuer (client credentials and token exchange). */
export const DEV_CLIENT_SECRET = 'dev-gateway-secret';
/** Keycloak puts its own `account` client's roles in every token; they must not count for the gateway. */
const OTHER_CLIENT = 'account';

export interface DevTokenOptions {
  /** Lifetime in seconds (negative values produce already-expired tokens for tests). */
  expiresInSec?: number;
  /** Claims to add or override after the Keycloak-shaped claims are built. */
  claims?: Record<string, unknown>;
  /** Header fields to add or override (e.g. `typ`). */
  header?: Record<string, unknown>;
  /** Session id; a fresh one per token when omitted. */
  sid?: string;
}

export interface DevIssuer {
  readonly issuerUrl: string;
  readonly jwksUri: string;
  readonly tokenEndpoint: string;
  /** A signed access token for a demo user, as Keycloak would issue it. */
  tokenFor(username: string, options?: DevTokenOptions): Promise<string>;
  /** A token with exactly these claims (plus iss/iat/exp), for tests that need odd shapes. */
  sign(claims: Record<string, unknown>, options?: { expiresInSec?: number; header?: Record<string, unknown> }): Promise<string>;
  /** An OIDC Back-Channel Logout 1.0 logout token for a session; `aud` is the client the session belongs to (default: the gateway's). */
  logoutToken(options: { sid?: string; sub?: string; aud?: string }): Promise<string>;
  /**
   * Key rotation: a new signing key is published next to the old ones and signs every token built
   * from now on (tokenFor, sign, logoutToken). Returns its kid.
   */
  rotateKey(): Promise<string>;
  /** The kid tokens are signed with now. */
  readonly currentKid: string;
  /** Client-credentials and token-exchange requests answered (and refused) so far. */
  readonly machineGrants: Readonly<MachineGrantCounts>;
  close(): Promise<void>;
}

export interface DevIssuerOptions {
  host?: string;
  port?: number;
  clientId?: string;
  /** Confidential clients and secrets for client credentials and token exchange (default: the gateway's client). */
  clients?: Record<string, string>;
  /** Clients a user's token may be exchanged for, with the realm role needed for each (default: none). */
  exchangeAudiences?: MachineGrantOptions['exchangeAudiences'];
  /** Lifetime of client-credentials and exchanged tokens (default 300 s, Keycloak's default). */
  machineTokenLifetimeSec?: number;
}

export function keycloakClaims(user: DemoUser, clientId: string, sid: string): Record<string, unknown> {
  return {
    typ: 'Bearer',
    aud: [clientId, OTHER_CLIENT],
    azp: clientId,
    sub: user.sub,
    sid,
    jti: randomUUID(),
    preferred_username: user.username,
    email: user.email,
    email_verified: true,
    name: user.name,
    scope: 'openid profile email',
    realm_access: { roles: [...user.realmRoles] },
    resource_access: {
      [clientId]: { roles: [...user.clientRoles] },
      [OTHER_CLIENT]: { roles: ['manage-account', 'view-profile'] },
    },
  };
}

export async function startDevIssuer(options: DevIssuerOptions = {}): Promise<DevIssuer> {
  const host = options.host ?? '127.0.0.1';
  const clientId = options.clientId ?? DEV_CLIENT_ID;
  const server = new OAuth2Server();
  let currentKid = (await server.issuer.keys.generate('RS256')).kid;

  // Token endpoint (password, authorization code and refresh grants): shape the payload as Keycloak does for the demo user.
  let ownerOf: TokenRequestOwner = () => undefined;
  server.service.on('beforeTokenSigning', (token: { header: Record<string, unknown>; payload: Record<string, unknown> }, req: TokenRequestIncomingMessage) => {
    const username = ownerOf(req.body);
    const user = username === undefined ? undefined : findDemoUser(username);
    if (user === undefined) return;
    Object.assign(token.payload, keycloakClaims(user, clientId, randomUUID()));
  });

  // Served behind a login page, so the authorization-code flow asks who is signing in.
  const counts: MachineGrantCounts = { clientCredentials: 0, tokenExchange: 0, refused: 0 };
  const grants = machineGrants(
    server,
    {
      clients: options.clients ?? { [clientId]: DEV_CLIENT_SECRET },
      exchangeAudiences: options.exchangeAudiences ?? {},
      lifetimeSec: options.machineTokenLifetimeSec ?? 300,
    },
    counts,
  );
  const served = await serveWithLoginPage(server, host, options.port ?? 0, grants);
  ownerOf = served.ownerOf;
  const issuerUrl = served.issuerUrl;

  const build = (expiresInSec: number, apply: (header: Record<string, unknown>, payload: Record<string, unknown>) => void): Promise<string> =>
    server.issuer.buildToken({
      kid: currentKid,
      expiresIn: expiresInSec,
      scopesOrTransform: (header, payload) => {
        apply(header, payload);
        // oauth2-mock-server derives nbf/exp from now; negative lifetimes make expired tokens.
        payload.exp = Math.floor(Date.now() / 1000) + expiresInSec;
      },
    });

  return {
    issuerUrl,
    jwksUri: `${issuerUrl}/jwks`,
    tokenEndpoint: `${issuerUrl}/token`,
    tokenFor(username, tokenOptions = {}) {
      const user = findDemoUser(username);
      if (user === undefined) return Promise.reject(new Error(`unknown demo user ${username}`));
      return build(tokenOptions.expiresInSec ?? 3600, (header, payload) => {
        Object.assign(payload, keycloakClaims(user, clientId, tokenOptions.sid ?? randomUUID()), tokenOptions.claims);
        Object.assign(header, tokenOptions.header);
      });
    },
    sign(claims, signOptions = {}) {
      return build(signOptions.expiresInSec ?? 3600, (header, payload) => {
        Object.assign(payload, claims);
        Object.assign(header, signOptions.header);
      });
    },
    logoutToken({ sid, sub, aud }) {
      return build(120, (header, payload) => {
        header.typ = 'logout+jwt';
        Object.assign(payload, {
          aud: aud ?? clientId,
          jti: randomUUID(),
          events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
          ...(sid === undefined ? {} : { sid }),
          ...(sub === undefined ? {} : { sub }),
        });
      });
    },
    async rotateKey() {
      currentKid = (await server.issuer.keys.generate('RS256')).kid;
      return currentKid;
    },
    get currentKid() {
      return currentKid;
    },
    machineGrants: counts,
    close: () => served.close(),
  };
}
