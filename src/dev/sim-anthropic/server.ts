/**
 * A deterministic stand-in for the Anthropic Messages API on loopback, spoken to through the
 * official SDK with `baseURL` pointed at it: `POST /v1/messages` (JSON and SSE) and
 * `GET /v1/models`, with the real error shapes, statuses and headers.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decideReply } from './brain.js';
import { INJECTED_FAILURES, type InjectableStatus } from './errors.js';
import { BodyTooLargeError, generationMs, readBody, sendError, sendEvents, sendJson, sendJsonAfter, type Timing } from './http-io.js';
import { listModels } from './models.js';
import { parseMessagesRequest } from './request.js';
import { buildMessage, streamEvents } from './response.js';
import { resolveTiming } from './timing.js';
import { PromptCache, computeInputUsage } from './usage.js';

export interface SimulatedAnthropicOptions {
  host?: string;
  port?: number;
  /** Delay before the first content delta; defaults to env SIM_LLM_FIRST_TOKEN_MS, else 0. */
  firstTokenMs?: number;
  /** Delay between content deltas; defaults to env SIM_LLM_TOKEN_DELAY_MS, else 0. */
  tokenDelayMs?: number;
  /** API keys answered with 401 authentication_error; any other non-empty key is accepted. */
  rejectKeys?: string[];
}

export interface SimulatedAnthropicStats {
  /** `POST /v1/messages` requests received, whatever their outcome. */
  requests: number;
  /** Replies that were streamed (started). */
  streams: number;
  /** Replies cut short because the client went away. */
  aborted: number;
  /** Replies being generated right now. */
  active: number;
}

export interface SimulatedAnthropicEvents {
  request: [body: unknown];
  aborted: [requestId: string];
  completed: [requestId: string];
}

export interface SimulatedAnthropicHandle {
  /** Base URL for the SDK's `baseURL`, e.g. http://127.0.0.1:PORT. */
  readonly url: string;
  readonly stats: Readonly<SimulatedAnthropicStats>;
  /** 'request' (decoded body), 'aborted' and 'completed' (request id): lets tests wait instead of polling. */
  readonly events: EventEmitter<SimulatedAnthropicEvents>;
  /** The next `count` `/v1/messages` requests fail with this status (and `retry-after` when 429). */
  failNext(count: number, status: InjectableStatus, retryAfterSec?: number): void;
  /** Bodies of the latest `/v1/messages` requests (up to 200), oldest first. */
  requests(): ReadonlyArray<unknown>;
  /** Stops listening and destroys open connections, aborting replies in flight. */
  close(): Promise<void>;
}

interface PendingFailure {
  remaining: number;
  readonly status: InjectableStatus;
  readonly retryAfterSec: number;
}

const DEFAULT_RETRY_AFTER_SEC = 1;

function newId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('hex')}`;
}

/** The key from `x-api-key`, or from `Authorization: Bearer`, which is how SDK 1.x sends `apiKey`. */
function apiKeyOf(req: IncomingMessage): string | undefined {
  const header = req.headers['x-api-key'];
  if (typeof header === 'string' && header !== '') return header;
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  return bearer?.[1];
}

export async function startSimulatedAnthropic(options: SimulatedAnthropicOptions = {}): Promise<SimulatedAnthropicHandle> {
  const host = options.host ?? '127.0.0.1';
  const timing: Timing = resolveTiming(options, process.env);
  const rejectKeys = new Set(options.rejectKeys ?? []);
  const stats: SimulatedAnthropicStats = { requests: 0, streams: 0, aborted: 0, active: 0 };
  const events = new EventEmitter<SimulatedAnthropicEvents>();
  const received: unknown[] = [];
  const KEPT_REQUESTS = 200;
  const cache = new PromptCache();
  let failure: PendingFailure | undefined;

  function takeFailure(): PendingFailure | undefined {
    if (failure === undefined) return undefined;
    const current = failure;
    current.remaining -= 1;
    if (current.remaining <= 0) failure = undefined;
    return current;
  }

  /** Runs one reply, noticing when the client disconnects before it is fully written. */
  async function generate(res: ServerResponse, requestId: string, write: (signal: AbortSignal) => Promise<void>): Promise<void> {
    const controller = new AbortController();
    const onClose = (): void => {
      if (!res.writableFinished) controller.abort();
    };
    res.once('close', onClose);
    if (res.destroyed) controller.abort();
    stats.active += 1;
    try {
      await write(controller.signal);
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    } finally {
      stats.active -= 1;
      res.off('close', onClose);
    }
    if (controller.signal.aborted) {
      stats.aborted += 1;
      events.emit('aborted', requestId);
    } else {
      events.emit('completed', requestId);
    }
  }

  async function handleMessages(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    stats.requests += 1;
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch (error) {
      if (error instanceof BodyTooLargeError) return sendError(res, 413, 'request_too_large', error.message);
      if (error instanceof SyntaxError) return sendError(res, 400, 'invalid_request_error', 'The request body is not valid JSON');
      throw error;
    }
    received.push(body);
    // Tests inspect recent requests; a long-running demo must not keep every body it ever saw.
    if (received.length > KEPT_REQUESTS) received.shift();
    events.emit('request', body);

    const injected = takeFailure();
    if (injected !== undefined) {
      const { type, message } = INJECTED_FAILURES[injected.status];
      return sendError(res, injected.status, type, message, injected.status === 429 ? injected.retryAfterSec : undefined);
    }
    const parsed = parseMessagesRequest(body);
    if (!parsed.ok) return sendError(res, 400, 'invalid_request_error', parsed.message);

    const { request } = parsed;
    const reply = decideReply(request, () => newId('toolu'));
    const message = buildMessage(newId('msg'), request.model, reply, computeInputUsage(request, cache));
    const wireEvents = streamEvents(message);
    if (request.stream === true) {
      stats.streams += 1;
      await generate(res, requestId, (signal) => sendEvents(res, wireEvents, timing, signal));
    } else {
      await generate(res, requestId, (signal) => sendJsonAfter(res, generationMs(wireEvents, timing), message, signal));
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = newId('req');
    res.setHeader('request-id', requestId);
    const { pathname, searchParams } = new URL(req.url ?? '/', 'http://sim.invalid');
    const route = `${req.method ?? ''} ${pathname}`;
    if (route !== 'POST /v1/messages' && route !== 'GET /v1/models') {
      return sendError(res, 404, 'not_found_error', `Not found: ${route}`);
    }
    const apiKey = apiKeyOf(req);
    if (apiKey === undefined) {
      return sendError(res, 401, 'authentication_error', 'an x-api-key or Authorization: Bearer header is required');
    }
    if (rejectKeys.has(apiKey)) return sendError(res, 401, 'authentication_error', 'invalid x-api-key');
    if (req.headers['anthropic-version'] === undefined) {
      return sendError(res, 400, 'invalid_request_error', 'anthropic-version: header is required');
    }
    if (route === 'GET /v1/models') return sendJson(res, 200, listModels(searchParams));
    return handleMessages(req, res, requestId);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
      } else {
        sendError(res, 500, 'api_error', error instanceof Error ? error.message : 'Internal server error');
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}`,
    stats,
    events,
    failNext(count, status, retryAfterSec = DEFAULT_RETRY_AFTER_SEC) {
      failure = count > 0 ? { remaining: count, status, retryAfterSec } : undefined;
    },
    requests: () => [...received],
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
