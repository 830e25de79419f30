/**
 * Follows one agent run: starts it with `POST /api/query` and hands every event to the caller. When
 * the stream drops before `done` (network loss, a replica shutting down), it resumes from the last
 * event id with `GET /api/runs/:id/events`, a few times with growing pauses; the gateway replays
 * what was missed, so the caller sees each event exactly once.
 */
import { ApiError } from './api.js';
import { readEventStream } from './sse.js';

const MAX_RECONNECTS = 4;
const MAX_PAUSE_MS = 15_000;
const STREAM_HEADERS = { accept: 'text/event-stream' };

/** @typedef {{ type: string, id: string | undefined, data: any }} RunEvent */

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
function pause(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Exponential from the server's `retry:` hint, with jitter so many dropped readers do not return in step. */
function reconnectPause(retryMs, attempt) {
  const ceiling = Math.min(MAX_PAUSE_MS, retryMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/**
 * Reads one response's events until `done` or until the stream ends or breaks.
 * @returns {Promise<{ done: RunEvent | undefined }>}
 */
async function drain(response, state, onEvent) {
  const messages = readEventStream(response.body);
  try {
    for (;;) {
      let next;
      try {
        next = await messages.next();
      } catch {
        // The connection broke mid-stream: the caller resumes from state.lastEventId.
        return { done: undefined };
      }
      if (next.done) return { done: undefined };
      const message = next.value;
      if ('retry' in message) {
        state.retryMs = message.retry;
        continue;
      }
      state.lastEventId = message.id ?? state.lastEventId;
      state.attempt = 0;
      const event = { type: message.event, id: message.id, data: JSON.parse(message.data) };
      if (event.type === 'run') state.runId = event.data.runId;
      onEvent(event);
      if (event.type === 'done') return { done: event };
    }
  } finally {
    await messages.return(undefined);
  }
}

/**
 * @param {import('./api.js').ApiClient} api
 * @param {{ query: string, conversationId?: string } | { runId: string }} request a new question, or a run to follow again
 * @param {{
 *   onEvent: (event: RunEvent) => void,
 *   onStarted?: (runId: string) => void,
 *   onReconnecting?: (attempt: number, pauseMs: number) => void,
 *   onResumed?: () => void,
 *   signal?: AbortSignal,
 *   maxReconnects?: number,
 * }} options
 * @returns {Promise<{ runId: string | undefined, status: string, reconnects: number }>} the `done` status
 */
export async function followRun(api, request, { onEvent, onStarted, onReconnecting, onResumed, signal, maxReconnects = MAX_RECONNECTS }) {
  const state = { runId: undefined, lastEventId: undefined, retryMs: 1_000, attempt: 0 };
  let reconnects = 0;
  // A refused query (bad input, rate limit, expired token) throws the gateway's ApiError from here.
  let response =
    request.runId === undefined
      ? await api.send('api/query', { body: request, headers: STREAM_HEADERS, signal })
      : // Following a run started earlier (before a reload): its whole log is replayed from the start.
        await api.send(`api/runs/${encodeURIComponent(request.runId)}/events`, { headers: STREAM_HEADERS, signal });
  state.runId = request.runId ?? response.headers.get('x-run-id') ?? undefined;
  if (state.runId !== undefined) onStarted?.(state.runId);

  for (;;) {
    if (response !== undefined) {
      const { done } = await drain(response, state, onEvent);
      if (done !== undefined) return { runId: state.runId, status: done.data.status, reconnects };
    }
    if (signal?.aborted) throw signal.reason;
    if (state.runId === undefined || state.attempt >= maxReconnects) {
      throw new ApiError({ code: 'STREAM_LOST', message: 'The connection to the run was lost and could not be resumed.', retryable: true }, 0);
    }
    state.attempt += 1;
    reconnects += 1;
    const pauseMs = reconnectPause(state.retryMs, state.attempt);
    onReconnecting?.(state.attempt, pauseMs);
    await pause(pauseMs, signal);
    const headers = state.lastEventId === undefined ? STREAM_HEADERS : { ...STREAM_HEADERS, 'last-event-id': state.lastEventId };
    try {
      response = await api.send(`api/runs/${encodeURIComponent(state.runId)}/events`, { headers, signal });
      onResumed?.();
    } catch (error) {
      // Unreachable or briefly unavailable: try again. Anything else (run gone, token expired) is final.
      if (signal?.aborted || !(error instanceof ApiError) || !error.retryable) throw error;
      response = undefined;
    }
  }
}
