/**
 * Per-call context for the pooled MCP clients. One SDK client serves every user of a server, but each
 * HTTP request must carry that call's credentials, request id and trace context; the SDK has no
 * per-request headers, so the transport's fetch and auth provider read the caller from
 * AsyncLocalStorage. The same fetch records how the last attempt failed (status, Retry-After, whether
 * the request left at all) so the retry policy can tell a safe retry from an unsafe one without
 * parsing error messages.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { InputRequest, InputResponse, LoggingLevel, LoggingMessageNotificationParams } from '@modelcontextprotocol/client';
import type { Identity } from '../auth/identity.js';
import { headerRecord, sendUpstream } from './http-client.js';

export interface AttemptOutcome {
  /** HTTP status of a failed response, when one came back. */
  status?: number;
  retryAfterMs?: number;
  /** False only when the connection was refused: the request provably never reached the server. */
  reached: boolean;
  /** A network-level failure code such as ECONNRESET (EPIPE for a stdio server whose pipe closed). */
  networkCode?: string;
}

/** Who a call is made for: a user (with the access token they came with) or the gateway itself. */
export interface Caller {
  readonly identity: Identity;
  /** The caller's own access token: only ever the subject of a token exchange, never forwarded. */
  readonly accessToken: string | undefined;
  /** The gateway's own background traffic (listing tools, change subscriptions). */
  readonly service: boolean;
}

/**
 * Where what an upstream sends during one call goes: its log messages, and the requests it makes
 * back (elicitation, sampling, roots). Each call carries its own, so two callers of one pooled
 * client never see each other's traffic.
 */
export interface CallRelay {
  /** The least severe level the caller wants log messages at; undefined: none. */
  readonly logLevel: () => LoggingLevel | undefined;
  log(params: LoggingMessageNotificationParams): void;
  /** Answers a request the upstream made during the call (rejects when the caller cannot answer it). */
  request(request: InputRequest, signal: AbortSignal): Promise<InputResponse>;
}

export interface CallContext {
  readonly caller: Caller;
  /** Request id and trace context of this call. */
  readonly headers: Readonly<Record<string, string>>;
  /** The caller's relay, when the caller can take log messages and requests from the upstream. */
  readonly relay?: CallRelay | undefined;
  /** Stops the call's deadline while the caller answers a request from the upstream; returns the release. */
  readonly holdDeadline?: (() => () => void) | undefined;
  lastOutcome?: AttemptOutcome;
}

const storage = new AsyncLocalStorage<CallContext>();

export function withCallContext<T>(context: CallContext, run: () => Promise<T>): Promise<T> {
  return storage.run(context, run);
}

/** The context of the call being made, if any (the SDK's own background traffic has none). */
export function currentCallContext(): CallContext | undefined {
  return storage.getStore();
}

function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function networkCode(error: unknown): string | undefined {
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  return typeof cause?.code === 'string' ? cause.code : undefined;
}

/**
 * The fetch handed to every HTTP transport: static headers, then the caller's credential headers
 * (`headersFor`), then the call's own headers, over the upstream connection pool (http-client.ts).
 * The transport's auth provider sets Authorization after this, where a credential needs it.
 */
export function createContextualFetch(
  staticHeaders: Readonly<Record<string, string>>,
  headersFor: (caller: Caller | undefined) => Promise<Record<string, string>>,
): typeof fetch {
  const fixed = Object.entries(staticHeaders).map(([name, value]) => [name.toLowerCase(), value] as const);
  return async (input, init = {}) => {
    const context = storage.getStore();
    const headers = headerRecord(init.headers);
    for (const [name, value] of fixed) headers[name] = value;
    const credentials = await headersFor(context?.caller);
    for (const name in credentials) headers[name.toLowerCase()] = credentials[name]!;
    const own = context?.headers;
    if (own !== undefined) for (const name in own) headers[name.toLowerCase()] = own[name]!;
    try {
      const response = await sendUpstream(input, init, headers);
      if (context !== undefined && !response.ok) {
        context.lastOutcome = { status: response.status, retryAfterMs: retryAfterMs(response.headers.get('retry-after')), reached: true };
      }
      return response;
    } catch (error) {
      if (context !== undefined) {
        const code = networkCode(error);
        context.lastOutcome = { reached: code !== 'ECONNREFUSED', networkCode: code };
      }
      throw error;
    }
  };
}
