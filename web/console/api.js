/**
 * The gateway's HTTP API as the console uses it: bearer token, JSON in and out, and every failure
 * turned into an ApiError carrying the gateway's error object (code, message, request id).
 */

/** An API failure in the gateway's one error shape, or a network failure dressed the same way. */
export class ApiError extends Error {
  /**
   * @param {{ code: string, message: string, requestId?: string, retryable?: boolean, details?: unknown }} error
   * @param {number} status HTTP status; 0 when the gateway could not be reached
   * @param {number | undefined} retryAfterSec from Retry-After, when the gateway sent one
   */
  constructor(error, status, retryAfterSec = undefined) {
    super(error.message);
    this.name = 'ApiError';
    this.code = error.code;
    this.requestId = error.requestId;
    this.retryable = error.retryable === true;
    this.details = error.details;
    this.status = status;
    this.retryAfterSec = retryAfterSec;
  }

  /** An error object found inside a run's SSE `error` event. */
  static fromEvent(error) {
    return new ApiError(error, 0);
  }
}

/** Reads the error body of a failed response; anything that is not the gateway's shape still becomes an ApiError. */
export async function errorFrom(response) {
  const retryAfter = Number(response.headers.get('retry-after'));
  const retryAfterSec = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined;
  const requestId = response.headers.get('x-request-id') ?? undefined;
  let body;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  const error = body?.error;
  if (error !== null && typeof error === 'object' && typeof error.code === 'string' && typeof error.message === 'string') {
    return new ApiError(error, response.status, retryAfterSec);
  }
  return new ApiError({ code: `HTTP_${response.status}`, message: response.statusText || 'Unexpected response', requestId }, response.status, retryAfterSec);
}

function unreachable(cause) {
  const error = new ApiError({ code: 'NETWORK', message: 'The gateway could not be reached. Check your connection and try again.', retryable: true }, 0);
  error.cause = cause;
  return error;
}

export class ApiClient {
  /**
   * @param {string} baseUrl where the API lives (the page's own base URL in the browser)
   * @param {() => string | undefined} token the current access token
   */
  constructor(baseUrl, token) {
    this.baseUrl = baseUrl;
    this.token = token;
  }

  url(path) {
    return new URL(path, this.baseUrl).href;
  }

  /**
   * Sends a request with the bearer token; resolves with the Response when it is 2xx.
   * @param {string} path relative to the base URL, e.g. `api/me`
   * @param {{ method?: string, body?: unknown, headers?: Record<string, string>, signal?: AbortSignal }} [options]
   */
  async send(path, { method, body, headers = {}, signal } = {}) {
    const all = { accept: 'application/json', ...headers };
    const token = this.token();
    if (token !== undefined) all.authorization = `Bearer ${token}`;
    if (body !== undefined) all['content-type'] = 'application/json';
    let response;
    try {
      response = await fetch(this.url(path), {
        method: method ?? (body === undefined ? 'GET' : 'POST'),
        headers: all,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
        // Never send or store cookies: the bearer token is the only credential.
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw unreachable(error);
    }
    if (!response.ok) throw await errorFrom(response);
    return response;
  }

  /** Sends a request and parses its JSON answer. */
  async json(path, options) {
    const response = await this.send(path, options);
    return response.status === 204 ? undefined : response.json();
  }

  me() {
    return this.json('api/me');
  }

  decide(confirmationId, decision) {
    return this.json(`api/confirmations/${encodeURIComponent(confirmationId)}`, { body: { decision } });
  }

  answerElicitation(runId, elicitationId, body) {
    return this.json(`api/runs/${encodeURIComponent(runId)}/elicitations/${encodeURIComponent(elicitationId)}`, { body });
  }

  cancelRun(runId) {
    return this.json(`api/runs/${encodeURIComponent(runId)}`, { method: 'DELETE' });
  }

  conversations() {
    return this.json('api/conversations');
  }

  conversation(id) {
    return this.json(`api/conversations/${encodeURIComponent(id)}`);
  }

  renameConversation(id, title) {
    return this.json(`api/conversations/${encodeURIComponent(id)}`, { method: 'PATCH', body: { title } });
  }

  deleteConversation(id) {
    return this.json(`api/conversations/${encodeURIComponent(id)}`, { method: 'DELETE' });
  }

  adminOverview() {
    return this.json('api/admin/overview');
  }

  /** @param {{ user?: string, tool?: string, decision?: string }} filter */
  audit(filter) {
    const query = new URLSearchParams(Object.entries(filter).filter(([, value]) => value !== undefined && value !== ''));
    return this.json(`api/admin/audit${query.size > 0 ? `?${query}` : ''}`);
  }

  approvePin(server, tool) {
    return this.json(`api/admin/pins/${encodeURIComponent(server)}/${encodeURIComponent(tool)}/approve`, { method: 'POST', body: {} });
  }

  /** @param {{ jti: string } | { sid: string } | { sub: string, before: string }} revocation */
  revoke(revocation) {
    return this.json('api/admin/revocations', { body: revocation });
  }
}

/** How this gateway's console signs in (`GET /console/config.json`; public). */
export async function consoleConfig(baseUrl) {
  try {
    const response = await fetch(new URL('console/config.json', baseUrl), { headers: { accept: 'application/json' }, credentials: 'omit' });
    return response.ok ? await response.json() : { signIn: null };
  } catch {
    return { signIn: null };
  }
}
