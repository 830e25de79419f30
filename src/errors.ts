/**
 * The error catalogue: the single source of truth for every error a client can see.
 * Each code maps to its HTTP status, whether retrying the same request may succeed, and a
 * default message. Routes, the SSE `error` event and the README table all read from here.
 */
import { isStoreUnavailable } from './store/errors.js';
export interface ErrorSpec {
  readonly status: number;
  readonly retryable: boolean;
  readonly message: string;
}

export const ERROR_CATALOGUE = {
  // Authentication and authorisation (1xxx)
  AUTH_1001: { status: 401, retryable: false, message: 'A bearer token is required' },
  AUTH_1002: { status: 401, retryable: false, message: 'The bearer token is invalid' },
  AUTH_1003: { status: 401, retryable: false, message: 'The bearer token has been revoked' },
  AUTH_1004: { status: 403, retryable: false, message: 'Your roles do not allow this' },
  AUTH_1005: { status: 503, retryable: true, message: 'Token revocation state is unavailable; try again shortly' },
  AUTH_1006: { status: 503, retryable: true, message: 'The identity provider cannot be reached; try again shortly' },
  AUTH_1007: { status: 400, retryable: false, message: 'The logout token is invalid' },
  AUTH_1008: { status: 503, retryable: true, message: "The token's signing key is not known yet (the identity provider may be rotating keys); try again shortly" },

  // Upstream MCP servers (2xxx)
  MCP_2001: { status: 504, retryable: true, message: 'The tool server did not answer in time' },
  MCP_2002: { status: 502, retryable: false, message: 'The tool server returned an error' },
  MCP_2003: { status: 503, retryable: true, message: 'The tool server is unavailable' },
  MCP_2004: { status: 404, retryable: false, message: 'No such tool server' },
  MCP_2005: { status: 404, retryable: false, message: 'No such tool' },
  MCP_2006: { status: 400, retryable: false, message: 'The tool arguments do not match its input schema' },
  MCP_2007: { status: 403, retryable: false, message: 'The identity provider refused a token for this tool server' },
  MCP_2008: { status: 404, retryable: false, message: 'No such resource' },
  MCP_2009: { status: 404, retryable: false, message: 'No such prompt' },
  MCP_2010: { status: 400, retryable: false, message: 'The prompt arguments are incomplete: a required argument is missing' },
  MCP_2011: { status: 400, retryable: false, message: "This resource's server does not support subscriptions" },
  MCP_2020: { status: 503, retryable: true, message: 'This gateway replica holds as many MCP sessions as it may; try again shortly' },
  MCP_2021: { status: 404, retryable: false, message: 'No such MCP session: start a new one with initialize' },
  MCP_2023: { status: 400, retryable: false, message: 'The tool server asked for something the MCP client that made this call does not support (elicitation, sampling or roots)' },
  MCP_2022: { status: 400, retryable: false, message: 'The call this answer belongs to is no longer waiting for it (it ended, expired, or runs on another replica)' },

  // The model (3xxx)
  CLAUDE_3001: { status: 502, retryable: true, message: 'The model API returned an error' },
  CLAUDE_3002: { status: 429, retryable: true, message: 'The model API is rate limiting requests' },
  CLAUDE_3003: { status: 429, retryable: true, message: 'Your daily model-token budget is used up' },
  CLAUDE_3004: { status: 502, retryable: false, message: 'The model API rejected the gateway credentials' },

  // Requests (4xxx)
  REQ_4000: { status: 400, retryable: false, message: 'The request is invalid' },
  REQ_4001: { status: 400, retryable: false, message: 'The request body is not valid JSON' },
  REQ_4002: { status: 400, retryable: false, message: 'The request body is nested too deeply' },
  REQ_4004: { status: 404, retryable: false, message: 'Not found' },
  REQ_4005: { status: 405, retryable: false, message: 'Method not allowed' },
  REQ_4030: { status: 403, retryable: false, message: 'The Host or Origin of this request is not allowed' },
  REQ_4008: { status: 408, retryable: true, message: 'The request took too long to arrive' },
  REQ_4013: { status: 413, retryable: false, message: 'The request body is too large' },
  REQ_4014: { status: 414, retryable: false, message: 'The request URL or one of its path segments is too long' },
  REQ_4015: { status: 415, retryable: false, message: 'Unsupported content type; send application/json' },
  REQ_4031: { status: 431, retryable: false, message: 'The request headers are too large' },
  RATE_4290: { status: 429, retryable: true, message: 'Too many requests' },

  // Confirmations (5xxx)
  CONFIRM_5001: { status: 404, retryable: false, message: 'No such confirmation, or it has expired' },
  CONFIRM_5002: { status: 409, retryable: false, message: 'The confirmation has already been decided' },

  // Runs (6xxx)
  RUN_6001: { status: 404, retryable: false, message: 'No such run' },
  RUN_6002: { status: 409, retryable: false, message: 'The run has already finished' },
  RUN_6003: { status: 504, retryable: true, message: 'The run did not finish within its deadline' },
  RUN_6004: { status: 404, retryable: false, message: 'No such question in this run, or it is no longer waiting for an answer' },
  RUN_6005: { status: 400, retryable: false, message: 'The answer does not match the form the tool server asked for' },
  RUN_6006: { status: 409, retryable: false, message: 'The question has already been answered' },

  // The gateway itself (9xxx)
  GATEWAY_9000: { status: 500, retryable: true, message: 'Internal error' },
  GATEWAY_9001: { status: 503, retryable: true, message: 'The gateway is shutting down; retry on another instance' },
  GATEWAY_9002: { status: 503, retryable: true, message: 'A required dependency is unavailable' },
  GATEWAY_9003: { status: 503, retryable: true, message: 'The gateway instance running this run stopped; ask again' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface ErrorObject {
  code: ErrorCode;
  message: string;
  requestId: string;
  retryable: boolean;
  details?: unknown;
}

export interface ErrorBody {
  error: ErrorObject;
}

/** An error the gateway means to show a client: it carries its catalogued code. */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly details: unknown;
  /** Extra response headers (e.g. Retry-After) that belong with this error. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    code: ErrorCode,
    options: { message?: string; details?: unknown; cause?: unknown; headers?: Record<string, string>; retryable?: boolean } = {},
  ) {
    const spec: ErrorSpec = ERROR_CATALOGUE[code];
    super(options.message ?? spec.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.status = spec.status;
    this.retryable = options.retryable ?? spec.retryable;
    this.details = options.details;
    this.headers = options.headers ?? {};
  }

  toObject(requestId: string): ErrorObject {
    const body: ErrorObject = { code: this.code, message: this.message, requestId, retryable: this.retryable };
    if (this.details !== undefined) body.details = this.details;
    return body;
  }
}

/** Seconds a client is asked to wait after the state store failed a request (outages are short or long, not instant). */
export const STORE_RETRY_AFTER_SEC = 2;

/** The answer to any request the state store could not serve: retryable 503 with Retry-After. */
export function storeUnavailable(cause?: unknown): GatewayError {
  return new GatewayError('GATEWAY_9002', { details: { dependency: 'store' }, headers: { 'retry-after': String(STORE_RETRY_AFTER_SEC) }, cause });
}

/**
 * Wraps anything thrown into a catalogued error: an unreachable store becomes GATEWAY_9002 (503,
 * retryable, Retry-After); other unknown failures GATEWAY_9000 without leaking internals.
 */
export function toGatewayError(value: unknown): GatewayError {
  if (value instanceof GatewayError) return value;
  if (isStoreUnavailable(value)) return storeUnavailable(value);
  return new GatewayError('GATEWAY_9000', { cause: value });
}
