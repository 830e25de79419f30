/**
 * A person signing in on Keycloak's login page, driven without a browser: follow the authorization
 * URL, post the username and password to the form Keycloak serves (with its cookies), and return the
 * redirect back to the client, which carries the authorization code.
 */
import { createHash, randomBytes } from 'node:crypto';
import { PASSWORD, tokenRequest, type TokenResponse } from './keycloak.js';

class CookieJar {
  private readonly cookies = new Map<string, string>();
  take(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';', 1);
      const separator = pair?.indexOf('=') ?? -1;
      if (pair !== undefined && separator > 0) this.cookies.set(pair.slice(0, separator), pair.slice(separator + 1));
    }
  }
  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

const decodeEntities = (value: string): string => value.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'");

/** Returns the URL Keycloak redirects the browser to after a successful sign-in (with `code` and `state`). */
export async function signInOnLoginPage(authorizationUrl: URL | string, username: string, password = PASSWORD): Promise<URL> {
  const jar = new CookieJar();
  const page = await fetch(authorizationUrl, { redirect: 'manual' });
  jar.take(page);
  const html = await page.text();
  if (page.status !== 200) throw new Error(`the login page answered ${page.status}: ${html.slice(0, 300)}`);
  const action = /<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"/.exec(html)?.[1];
  if (action === undefined) throw new Error(`no login form on the page: ${html.slice(0, 300)}`);
  const submitted = await fetch(decodeEntities(action), {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header() },
    body: new URLSearchParams({ username, password, credentialId: '' }),
  });
  const location = submitted.headers.get('location');
  if (submitted.status !== 302 || location === null) throw new Error(`sign-in was not accepted (${submitted.status}): ${(await submitted.text()).slice(0, 300)}`);
  return new URL(location);
}

/** A complete authorization code + PKCE sign-in of a public client, as a browser app or MCP client does it. */
export async function authorizationCodeTokens(options: { realmUrl: string; clientId: string; redirectUri: string; username: string; scope?: string }): Promise<TokenResponse> {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const state = randomBytes(8).toString('hex');
  const authorize = new URL(`${options.realmUrl}/protocol/openid-connect/auth`);
  authorize.search = new URLSearchParams({
    client_id: options.clientId,
    response_type: 'code',
    redirect_uri: options.redirectUri,
    scope: options.scope ?? 'openid profile email',
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  const back = await signInOnLoginPage(authorize, options.username);
  if (back.searchParams.get('state') !== state) throw new Error('state mismatch');
  const code = back.searchParams.get('code');
  if (code === null) throw new Error(`no code in ${back.toString()}`);
  const { status, body } = await tokenRequest(
    { grant_type: 'authorization_code', client_id: options.clientId, code, redirect_uri: options.redirectUri, code_verifier: verifier },
    `${options.realmUrl}/protocol/openid-connect/token`,
  );
  if (status !== 200) throw new Error(`code exchange failed (${status}): ${JSON.stringify(body)}`);
  return body as TokenResponse;
}
