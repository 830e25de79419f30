/**
 * Sign-in through the identity provider: OpenID Connect authorization code with PKCE, as a public
 * client (no secret), using `oauth4webapi` for every protocol step (discovery, PKCE, state and nonce,
 * response validation, token and refresh requests). The access token is refreshed shortly before it
 * expires; signing out ends the session at the provider (RP-initiated logout). Tokens live in this
 * tab's memory and sessionStorage only: never a cookie, never a URL.
 */
import * as oauth from './vendor/oauth4webapi.js';

const PENDING_KEY = 'mcp-gateway.console.oidc-pending';
const SESSION_KEY = 'mcp-gateway.console.oidc-session';
/** Refresh this long before the access token expires. */
const REFRESH_LEAD_MS = 60_000;

function storage() {
  try {
    return globalThis.sessionStorage;
  } catch {
    return undefined;
  }
}

function readJson(key) {
  try {
    const raw = storage()?.getItem(key);
    return raw ? JSON.parse(raw) : undefined;
  } catch {
    return undefined;
  }
}

function writeJson(key, value) {
  try {
    if (value === undefined) storage()?.removeItem(key);
    else storage()?.setItem(key, JSON.stringify(value));
  } catch {
    // Storage disabled: the session lives in memory only and a reload signs out.
  }
}

export class OidcSignIn {
  /**
   * @param {{ issuer: string, clientId: string, scopes: string }} config from `GET /console/config.json`
   * @param {string} redirectUri this console's own address
   * @param {(accessToken: string | undefined) => void} onToken called with each new access token, and undefined when the session ends
   */
  constructor(config, redirectUri, onToken) {
    this.config = config;
    this.redirectUri = redirectUri;
    this.onToken = onToken;
    this.client = { client_id: config.clientId };
    this.issuer = new URL(config.issuer);
    // Plain HTTP only where the issuer itself is plain HTTP (the embedded demo, a lab).
    this.options = this.issuer.protocol === 'http:' ? { [oauth.allowInsecureRequests]: true } : {};
    this.session = readJson(SESSION_KEY);
    this.timer = undefined;
  }

  async server() {
    this.as ??= await oauth
      .discoveryRequest(this.issuer, { ...this.options, algorithm: 'oidc' })
      .then((response) => oauth.processDiscoveryResponse(this.issuer, response));
    return this.as;
  }

  /** Sends the browser to the provider's login page. */
  async start() {
    const as = await this.server();
    const codeVerifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const nonce = oauth.generateRandomNonce();
    writeJson(PENDING_KEY, { codeVerifier, state, nonce });
    const url = new URL(as.authorization_endpoint);
    url.searchParams.set('client_id', this.config.clientId);
    url.searchParams.set('redirect_uri', this.redirectUri);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('scope', this.config.scopes);
    url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(codeVerifier));
    url.searchParams.set('code_challenge_method', 'S256');
    url.searchParams.set('state', state);
    url.searchParams.set('nonce', nonce);
    location.assign(url.href);
  }

  /** True when this page load is the provider sending the browser back with a code (or an error). */
  isCallback(url) {
    return readJson(PENDING_KEY) !== undefined && (url.searchParams.has('code') || url.searchParams.has('error')) && url.searchParams.has('state');
  }

  /** Exchanges the code for tokens; throws with the provider's reason when it refused. */
  async finish(url) {
    const pending = readJson(PENDING_KEY);
    writeJson(PENDING_KEY, undefined);
    const as = await this.server();
    const params = oauth.validateAuthResponse(as, this.client, url, pending.state);
    const response = await oauth.authorizationCodeGrantRequest(as, this.client, oauth.None(), params, this.redirectUri, pending.codeVerifier, this.options);
    const result = await oauth.processAuthorizationCodeResponse(as, this.client, response, { expectedNonce: pending.nonce, requireIdToken: true });
    this.#keep(result);
  }

  /** Resumes a session kept in this tab (after a reload): the token, and its refresh schedule. */
  resume() {
    if (this.session === undefined) return undefined;
    this.#schedule();
    return this.session.accessToken;
  }

  async refresh() {
    const refreshToken = this.session?.refreshToken;
    if (refreshToken === undefined) return;
    const as = await this.server();
    const response = await oauth.refreshTokenGrantRequest(as, this.client, oauth.None(), refreshToken, this.options);
    const result = await oauth.processRefreshTokenResponse(as, this.client, response);
    this.#keep({ ...result, id_token: result.id_token ?? this.session?.idToken, refresh_token: result.refresh_token ?? refreshToken });
  }

  /** Forgets the tokens and, when the provider supports it, ends the session there too. */
  async signOut() {
    const idToken = this.session?.idToken;
    this.#clear();
    const as = await this.server().catch(() => undefined);
    if (as?.end_session_endpoint === undefined) return;
    const url = new URL(as.end_session_endpoint);
    if (idToken !== undefined) url.searchParams.set('id_token_hint', idToken);
    url.searchParams.set('client_id', this.config.clientId);
    url.searchParams.set('post_logout_redirect_uri', this.redirectUri);
    location.assign(url.href);
  }

  #keep(result) {
    const expiresIn = typeof result.expires_in === 'number' ? result.expires_in : undefined;
    this.session = {
      accessToken: result.access_token,
      refreshToken: result.refresh_token,
      idToken: result.id_token,
      expiresAt: expiresIn === undefined ? undefined : Date.now() + expiresIn * 1000,
    };
    writeJson(SESSION_KEY, this.session);
    this.onToken(this.session.accessToken);
    this.#schedule();
  }

  #schedule() {
    clearTimeout(this.timer);
    const { expiresAt, refreshToken } = this.session ?? {};
    if (expiresAt === undefined || refreshToken === undefined) return;
    const delay = Math.max(0, expiresAt - Date.now() - REFRESH_LEAD_MS);
    this.timer = setTimeout(() => {
      this.refresh().catch(() => {
        // The provider refused (session ended there): the next API call says so and offers sign-in.
        this.#clear();
      });
    }, delay);
  }

  #clear() {
    clearTimeout(this.timer);
    this.session = undefined;
    writeJson(SESSION_KEY, undefined);
    this.onToken(undefined);
  }
}
