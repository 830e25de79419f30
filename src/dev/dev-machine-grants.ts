/**
 * The dev issuer's machine-to-machine grants, answered as Keycloak answers them, for the gateway's
 * upstream credentials: client credentials (a service-account token for a confidential client) and
 * standard token exchange (RFC 8693; Keycloak 26.2+): a confidential client that is in the subject
 * token's audience trades the user's access token for one addressed to another client. The requests
 * reach the token endpoint like every other grant; what is not theirs goes on to oauth2-mock-server
 * with its body already parsed.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createLocalJWKSet, jwtVerify } from 'jose';
import type { OAuth2Server } from 'oauth2-mock-server';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const MAX_BODY_BYTES = 65_536;

export interface MachineGrantOptions {
  /** Confidential clients and their secrets. */
  readonly clients: Readonly<Record<string, string>>;
  /** Clients a token may be exchanged for, each with the realm role a user needs for it (if any). */
  readonly exchangeAudiences: Readonly<Record<string, { readonly requiredRole?: string }>>;
  /** Lifetime of issued tokens in seconds (Keycloak's default access token lifespan is 5 minutes). */
  readonly lifetimeSec: number;
}

export interface MachineGrantCounts {
  clientCredentials: number;
  tokenExchange: number;
  refused: number;
}

type Interceptor = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', pragma: 'no-cache' });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('token request too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** client_secret_basic or client_secret_post, as Keycloak accepts both. */
function clientOf(req: IncomingMessage, body: URLSearchParams): { id: string; secret: string } | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith('Basic ') === true) {
    const decoded = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    return { id: decodeURIComponent(decoded.slice(0, colon)), secret: decodeURIComponent(decoded.slice(colon + 1)) };
  }
  const id = body.get('client_id');
  const secret = body.get('client_secret');
  return id === null || secret === null ? undefined : { id, secret };
}

/** A stable id for a client's service account, as Keycloak gives each one a user. */
const serviceAccountSub = (clientId: string): string => {
  const hex = createHash('sha256').update(`service-account:${clientId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
};

const audiencesOf = (aud: unknown): string[] => (Array.isArray(aud) ? aud.filter((item): item is string => typeof item === 'string') : typeof aud === 'string' ? [aud] : []);

/**
 * An interceptor for the dev issuer's HTTP server: answers client-credentials requests of the
 * configured confidential clients and every token-exchange request; returns false for the rest.
 */
export function machineGrants(server: OAuth2Server, options: MachineGrantOptions, counts: MachineGrantCounts): Interceptor {
  const sign = (claims: Record<string, unknown>, lifetimeSec: number): Promise<string> =>
    server.issuer.buildToken({
      expiresIn: lifetimeSec,
      scopesOrTransform: (_header, payload) => {
        Object.assign(payload, claims);
        payload.exp = Math.floor(Date.now() / 1000) + lifetimeSec;
      },
    });
  const refuse = (res: ServerResponse, status: number, error: string, description: string): true => {
    counts.refused += 1;
    send(res, status, { error, error_description: description });
    return true;
  };

  const clientCredentials = async (res: ServerResponse, client: { id: string }, body: URLSearchParams): Promise<true> => {
    counts.clientCredentials += 1;
    const scope = body.get('scope') ?? 'profile email';
    const token = await sign(
      { typ: 'Bearer', sub: serviceAccountSub(client.id), azp: client.id, aud: client.id, preferred_username: `service-account-${client.id}`, scope, jti: randomUUID() },
      options.lifetimeSec,
    );
    send(res, 200, { access_token: token, token_type: 'Bearer', expires_in: options.lifetimeSec, scope });
    return true;
  };

  const exchange = async (res: ServerResponse, client: { id: string }, body: URLSearchParams): Promise<true> => {
    const subjectToken = body.get('subject_token');
    const audience = body.get('audience');
    if (subjectToken === null) return refuse(res, 400, 'invalid_request', 'Missing subject_token');
    const subjectType = body.get('subject_token_type');
    if (subjectType !== null && subjectType !== ACCESS_TOKEN_TYPE) return refuse(res, 400, 'invalid_request', 'Unsupported subject_token_type');
    let subject: Record<string, unknown>;
    try {
      const keys = createLocalJWKSet({ keys: server.issuer.keys.toJSON() });
      subject = (await jwtVerify(subjectToken, keys, { issuer: server.issuer.url })).payload;
    } catch {
      return refuse(res, 400, 'invalid_request', 'Invalid token');
    }
    // Keycloak's standard token exchange: the requesting client must be an audience of the subject token.
    if (!audiencesOf(subject.aud).includes(client.id)) return refuse(res, 403, 'access_denied', 'Client is not within the token audience');
    if (audience === null) return refuse(res, 400, 'invalid_request', 'Missing audience');
    const target = options.exchangeAudiences[audience];
    if (target === undefined) return refuse(res, 400, 'invalid_target', 'Audience not found');
    const realmRoles = audiencesOf((subject.realm_access as { roles?: unknown } | undefined)?.roles);
    if (target.requiredRole !== undefined && !realmRoles.includes(target.requiredRole)) {
      return refuse(res, 403, 'access_denied', `User may not access client ${audience}`);
    }
    counts.tokenExchange += 1;
    const remainingSec = typeof subject.exp === 'number' ? subject.exp - Math.floor(Date.now() / 1000) : options.lifetimeSec;
    const lifetimeSec = Math.max(1, Math.min(options.lifetimeSec, remainingSec));
    const scope = body.get('scope') ?? (typeof subject.scope === 'string' ? subject.scope : 'openid');
    const token = await sign(
      {
        typ: 'Bearer',
        sub: subject.sub,
        sid: subject.sid,
        preferred_username: subject.preferred_username,
        email: subject.email,
        name: subject.name,
        realm_access: subject.realm_access,
        aud: audience,
        azp: client.id,
        scope,
        jti: randomUUID(),
      },
      lifetimeSec,
    );
    send(res, 200, { access_token: token, token_type: 'Bearer', expires_in: lifetimeSec, issued_token_type: ACCESS_TOKEN_TYPE, scope });
    return true;
  };

  return async (req, res) => {
    if (req.method !== 'POST' || new URL(req.url ?? '/', 'http://issuer').pathname !== '/token') return false;
    const raw = await readBody(req);
    const body = new URLSearchParams(raw);
    const grant = body.get('grant_type');
    const client = clientOf(req, body);
    const known = client !== undefined && options.clients[client.id] !== undefined;
    if (grant === TOKEN_EXCHANGE_GRANT || (grant === 'client_credentials' && known)) {
      if (client === undefined || options.clients[client.id] !== client.secret) return refuse(res, 401, 'invalid_client', 'Invalid client or Invalid client credentials');
      return grant === TOKEN_EXCHANGE_GRANT ? exchange(res, client, body) : clientCredentials(res, client, body);
    }
    // Not ours: oauth2-mock-server's token endpoint takes the parsed body (its own parser skips a finished stream).
    (req as IncomingMessage & { body?: unknown }).body = Object.fromEntries(body);
    return false;
  };
}
