/**
 * The dev issuer's login page, so the console's authorization-code + PKCE sign-in runs against the
 * demo exactly as against Keycloak: `GET /authorize` without a chosen user shows the demo users; the
 * choice goes back to the same URL with `username`, and oauth2-mock-server's own authorize endpoint
 * issues the code. Codes and refresh tokens remember whose they are, so the token endpoint signs for
 * that user. oauth2-mock-server has no login step of its own; this page is that step.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { OAuth2Server } from 'oauth2-mock-server';
import { DEMO_USERS, findDemoUser } from './demo-users.js';

/** Bounded memory of who an authorization code or refresh token belongs to (oldest forgotten first). */
class Owners {
  private readonly owners = new Map<string, string>();

  constructor(private readonly max = 1_000) {}

  set(handle: string, username: string): void {
    this.owners.set(handle, username);
    if (this.owners.size > this.max) this.owners.delete(this.owners.keys().next().value ?? handle);
  }

  get(handle: unknown): string | undefined {
    return typeof handle === 'string' ? this.owners.get(handle) : undefined;
  }
}

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] ?? char);

function loginPage(query: URLSearchParams, error: string | undefined): string {
  const hidden = [...query.entries()]
    .filter(([name]) => name !== 'username')
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n');
  const users = DEMO_USERS.map(
    (user, index) =>
      `<li><label><input type="radio" name="username" value="${escapeHtml(user.username)}"${index === 0 ? ' checked' : ''}> <strong>${escapeHtml(user.name)}</strong> <span>${escapeHtml(user.username)} · ${escapeHtml([...user.realmRoles, ...user.clientRoles].join(', '))}</span></label></li>`,
  ).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · demo identity provider</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;margin:0;padding:1rem;background:#f4f5f7;color:#1c1e21}
main{max-width:32rem;margin:2rem auto;background:#fff;border-radius:.75rem;padding:1.5rem;box-shadow:0 1px 4px #0002}
ul{list-style:none;padding:0}li{margin:.25rem 0}label{display:block;padding:.5rem;border-radius:.5rem;cursor:pointer}
label:hover{background:#eef}span{color:#555;font-size:.875rem;overflow-wrap:anywhere}
button{font:inherit;padding:.6rem 1.2rem;border:0;border-radius:.5rem;background:#2452c7;color:#fff;cursor:pointer}
.error{color:#a4001c}
@media (prefers-color-scheme: dark){body{background:#15171a;color:#e8e8e8}main{background:#202327}label:hover{background:#2b3040}span{color:#b8b8b8}.error{color:#ff8a8a}}
</style></head>
<body><main>
<h1>Sign in</h1>
<p>Demo identity provider: choose who you are. Every demo user's password is <code>demo</code>, so none is asked.</p>
${error === undefined ? '' : `<p class="error" role="alert">${escapeHtml(error)}</p>`}
<form method="get" action="/authorize">
${hidden}
<fieldset><legend>Demo user</legend><ul>
${users}
</ul></fieldset>
<button type="submit">Sign in</button>
</form>
</main></body></html>`;
}

/** Who signed in for this token request: the password grant names the user; codes and refresh tokens remember. */
export type TokenRequestOwner = (body: object) => string | undefined;

/**
 * Serves the mock server's endpoints behind the login page and listens. Returns the issuer URL, the
 * lookup for the token endpoint's signing hook, and how to stop.
 */
export async function serveWithLoginPage(
  server: OAuth2Server,
  host: string,
  port: number,
  /** Answers some requests before the mock server does (the machine grants); true when it did. */
  intercept?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>,
): Promise<{ issuerUrl: string; ownerOf: TokenRequestOwner; close: () => Promise<void> }> {
  const codes = new Owners();
  const refreshTokens = new Owners();
  server.service.on('beforeAuthorizeRedirect', (redirect: { url: URL }, req: IncomingMessage & { query?: Record<string, unknown> }) => {
    const code = redirect.url.searchParams.get('code');
    const username = req.query?.username;
    if (code !== null && typeof username === 'string') codes.set(code, username);
  });
  const ownerOf: TokenRequestOwner = (request) => {
    const body = request as Record<string, unknown>;
    if (typeof body.username === 'string') return body.username;
    if (body.grant_type === 'authorization_code') return codes.get(body.code);
    if (body.grant_type === 'refresh_token') return refreshTokens.get(body.refresh_token);
    return undefined;
  };
  server.service.on('beforeResponse', (response: { body: Record<string, unknown> }, req: { body: Record<string, unknown> }) => {
    const username = ownerOf(req.body);
    if (username !== undefined && typeof response.body.refresh_token === 'string') refreshTokens.set(response.body.refresh_token, username);
  });

  const handler = server.service.requestHandler;
  const http: Server = createServer((req, res) => {
    if (intercept !== undefined) {
      intercept(req, res).then(
        (answered) => {
          if (!answered) route(req, res);
        },
        () => {
          if (!res.headersSent) res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_request"}');
        },
      );
      return;
    }
    route(req, res);
  });
  function route(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://issuer');
    const username = url.searchParams.get('username');
    if (req.method === 'GET' && url.pathname === '/authorize' && (username === null || findDemoUser(username) === undefined)) {
      const error = username === null ? undefined : `${username} is not a demo user.`;
      res.writeHead(username === null ? 200 : 400, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(loginPage(url.searchParams, error));
      return;
    }
    handler(req, res);
  }
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => resolve());
  });
  const address = http.address();
  if (address === null || typeof address === 'string') throw new Error('dev issuer is not listening on TCP');
  const issuerUrl = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  server.issuer.url = issuerUrl;
  return {
    issuerUrl,
    ownerOf,
    close: () =>
      new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      }),
  };
}
