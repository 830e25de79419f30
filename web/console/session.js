/**
 * Where the access token lives, and the embedded demo's sign-in. The token stays in this tab only:
 * sessionStorage survives a reload but not the tab, and it never goes to localStorage, a cookie or a URL.
 */
import { ApiError } from './api.js';

const STORAGE_KEY = 'mcp-gateway.console.token';

/** The tab's sessionStorage; reading it throws where the browser forbids storage. */
function tabStorage() {
  try {
    return globalThis.sessionStorage;
  } catch {
    return undefined;
  }
}

/** Keeps the token in memory, mirrored to sessionStorage when the browser allows it. */
export class TokenStore {
  #token;

  constructor(storage = tabStorage()) {
    this.storage = storage;
    this.#token = this.#read();
  }

  get() {
    return this.#token;
  }

  set(token) {
    this.#token = token;
    this.#write(token);
  }

  clear() {
    this.#token = undefined;
    this.#write(undefined);
  }

  #read() {
    try {
      return this.storage?.getItem(STORAGE_KEY) ?? undefined;
    } catch {
      // Storage disabled (privacy settings): the token lives in memory only.
      return undefined;
    }
  }

  #write(token) {
    try {
      if (token === undefined) this.storage?.removeItem(STORAGE_KEY);
      else this.storage?.setItem(STORAGE_KEY, token);
    } catch {
      // As above: memory only.
    }
  }
}

/**
 * What the embedded demo publishes at `GET /dev/info`, or undefined when this gateway is not the demo.
 * @returns {Promise<{ tokenEndpoint: string, clientId: string, users: string[] } | undefined>}
 */
export async function demoInfo(baseUrl) {
  try {
    const response = await fetch(new URL('dev/info', baseUrl), { headers: { accept: 'application/json' }, credentials: 'omit' });
    if (!response.ok) return undefined;
    const info = await response.json();
    const valid = typeof info?.tokenEndpoint === 'string' && typeof info.clientId === 'string' && Array.isArray(info.users);
    return valid ? { tokenEndpoint: info.tokenEndpoint, clientId: info.clientId, users: info.users.filter((user) => typeof user === 'string') } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A token for a demo user from the dev issuer: the password grant with the demo password, as
 * `mcp-gateway dev-token` does.
 */
export async function demoToken(info, username, baseUrl) {
  const endpoint = new URL(info.tokenEndpoint, baseUrl);
  let response;
  try {
    response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ grant_type: 'password', username, password: 'demo', client_id: info.clientId }),
      credentials: 'omit',
    });
  } catch (error) {
    const failure = new ApiError(
      { code: 'DEMO_ISSUER', message: `The demo identity provider at ${endpoint.origin} could not be reached from this page. Paste a token instead: npx mcp-gateway dev-token ${username}`, retryable: true },
      0,
    );
    failure.cause = error;
    throw failure;
  }
  const body = await response.json().catch(() => undefined);
  if (!response.ok || typeof body?.access_token !== 'string') {
    const reason = typeof body?.error_description === 'string' ? body.error_description : typeof body?.error === 'string' ? body.error : response.statusText;
    throw new ApiError({ code: 'DEMO_ISSUER', message: `The demo identity provider refused: ${reason || response.status}` }, response.status);
  }
  return body.access_token;
}
