/**
 * HTTP for upstream MCP servers: one keep-alive connection pool per process (an undici Agent) and a
 * `fetch` for the SDK's HTTP transports that sends over it with undici's `request` instead of
 * `fetch`. Why: the SDK asks for a fetch, and the runtime's fetch builds a Request, web streams for
 * the request and response bodies and an abort-signal chain per call; measured side by side (bench/,
 * interleaved rounds, same process layout) a proxied tool call cost the gateway ~25 % less CPU with
 * this (see bench/README.md). What the SDK's transports send is always a string body with
 * `redirect: 'manual'` (the SDK follows redirects itself); anything else (an OAuth form post, a
 * caller asking fetch to follow redirects) goes through undici's full `fetch` on the same pool.
 */
import { Readable } from 'node:stream';
import { Agent, fetch as undiciFetch, request, type Dispatcher } from 'undici';

/** Idle upstream connections are kept this long for reuse (servers commonly close theirs at 5–60 s). */
const KEEP_ALIVE_MS = 10_000;

/** Shared by every upstream server of every gateway in the process, like the runtime's global dispatcher; idle sockets do not keep the process alive. */
const pool = new Agent({ keepAliveTimeout: KEEP_ALIVE_MS, keepAliveMaxTimeout: 60_000 });

type HeaderRecord = Record<string, string>;

/** The request headers as a plain record (the SDK hands a Headers object it built for this request). */
export function headerRecord(headers: RequestInit['headers']): HeaderRecord {
  const record: HeaderRecord = {};
  if (headers === undefined) return record;
  if (headers instanceof Headers) {
    headers.forEach((value, name) => (record[name] = value));
  } else if (Array.isArray(headers)) {
    for (const [name, value] of headers) if (typeof name === 'string' && typeof value === 'string') record[name.toLowerCase()] = value;
  } else {
    for (const [name, value] of Object.entries(headers)) record[name.toLowerCase()] = typeof value === 'string' ? value : value.join(', ');
  }
  return record;
}

function responseHeaders(raw: Dispatcher.ResponseData['headers']): Headers {
  const headers = new Headers();
  for (const name in raw) {
    const value = raw[name];
    if (Array.isArray(value)) for (const item of value) headers.append(name, item);
    else if (value !== undefined) headers.set(name, value);
  }
  return headers;
}

/** A null-body status (fetch refuses a body for these). */
function hasNoBody(status: number, method: string): boolean {
  return status === 204 || status === 205 || status === 304 || method === 'HEAD';
}

/**
 * Sends one request over the pool. `headers` is used as given (no copy). Failures look like fetch's:
 * a network error is a TypeError whose `cause` carries the code, an abort rejects with the signal's reason.
 */
export async function sendUpstream(input: string | URL | Request, init: RequestInit, headers: HeaderRecord): Promise<Response> {
  const method = init.method ?? 'GET';
  const signal = init.signal ?? undefined;
  if (input instanceof Request) return fetch(input, { ...init, headers });
  const url = input;
  if ((init.body !== undefined && init.body !== null && typeof init.body !== 'string') || init.redirect !== 'manual') {
    // Not the SDK's JSON-RPC shape: the full fetch (same pool), whatever the body or redirect mode.
    return undiciFetch(url, { ...(init as object), headers, dispatcher: pool });
  }
  let answer: Dispatcher.ResponseData;
  try {
    answer = await request(url, { method: method, headers, body: init.body ?? null, signal, dispatcher: pool });
  } catch (error) {
    if (signal?.aborted === true) throw signal.reason;
    throw new TypeError('fetch failed', { cause: error });
  }
  const status = answer.statusCode;
  const headersIn = responseHeaders(answer.headers);
  if (hasNoBody(status, method)) {
    await answer.body.dump();
    return new Response(null, { status, headers: headersIn });
  }
  // An SSE answer streams (progress, then the result); anything else is read whole, as the SDK would.
  if (headersIn.get('content-type')?.toLowerCase().startsWith('text/event-stream') === true) {
    return new Response(Readable.toWeb(answer.body) as ReadableStream<Uint8Array>, { status, headers: headersIn });
  }
  try {
    return new Response(await answer.body.text(), { status, headers: headersIn });
  } catch (error) {
    if (signal?.aborted === true) throw signal.reason;
    throw new TypeError('fetch failed', { cause: error });
  }
}
