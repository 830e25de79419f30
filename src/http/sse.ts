/**
 * The server-sent events writer: `text/event-stream` whatever the request asked for, never
 * compressed or buffered by proxies, `: ping` heartbeats, a `retry:` hint, and bounded buffering —
 * once more than `maxBufferedBytes` wait for a reader, the sender is held until they are taken, and a
 * reader that takes none of it within a heartbeat interval is disconnected (the run goes on; the
 * reader may come back with Last-Event-ID). Hand-written because it is a few lines over Node's
 * response, and no maintained Fastify plugin offers the cut-off and registry the gateway needs.
 */
import type { FastifyReply } from 'fastify';
import type { GatewayConfig } from '../config/schema.js';
import type { Metrics } from '../ops/metrics.js';

export type SseCloseReason = 'client' | 'slow' | 'done' | 'shutdown';

export class SseStream {
  private readonly controller = new AbortController();
  private readonly heartbeat: NodeJS.Timeout;
  private closeReason: SseCloseReason | undefined;
  /** The id of the last event sent with one: where this reader resumes. */
  private lastId: string | undefined;

  constructor(
    private readonly reply: FastifyReply,
    private readonly config: GatewayConfig['sse'],
    private readonly metrics: Metrics,
    private readonly onClose: (stream: SseStream) => void,
    /** The run this stream reads (named in the `reconnect` event at shutdown). */
    private readonly runId: string | undefined = undefined,
  ) {
    const raw = reply.raw;
    reply.hijack();
    // Headers set by hooks (request id, security headers, CORS) live on the reply; carry them over.
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined) raw.setHeader(name, value);
    }
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    raw.socket?.setNoDelay(true);
    // The edge's idle timeout (server.timeouts.idleMs) is not for streams: a paused run may be quiet
    // for longer than it, and heartbeats and the slow-reader cut-off already govern a stream's life.
    raw.socket?.setTimeout(0);
    raw.write(`retry: ${config.retryMs}\n\n`);
    this.heartbeat = setInterval(() => this.write(': ping\n\n'), config.heartbeatMs);
    raw.once('close', () => this.end('client'));
    metrics.sseActive.inc();
  }

  /** Aborted when the stream ends for any reason; tails stop on it. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get isOpen(): boolean {
    return this.closeReason === undefined;
  }

  /**
   * Sends one event; resolves true when more may be sent, false once the stream is closed. The
   * backlog is judged after the socket had its chance to flush, not at the moment of writing: Node
   * corks a response for the rest of the tick, and one event may be larger than the bound, so a
   * burst or a big event is not mistaken for a slow reader.
   */
  async send(id: string | undefined, event: string, data: unknown): Promise<boolean> {
    if (!this.isOpen) return false;
    const raw = this.reply.raw;
    // An event without an id (the stream's own final events) leaves the client's Last-Event-ID as it was.
    const idLine = id === undefined ? '' : `id: ${id}\n`;
    if (id !== undefined) this.lastId = id;
    const flushed = new Promise<void>((resolve) => raw.write(`${idLine}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`, () => resolve()));
    if (raw.writableLength <= this.config.maxBufferedBytes) return true;
    return this.awaitReader(flushed);
  }

  /**
   * Ends the stream. `shutdown` first sends a final `reconnect` event (no id) naming the run and the
   * last event id sent, so any client — not only a browser EventSource, which reconnects by itself
   * after the retry hint — knows to resume on another replica rather than guess.
   */
  close(reason: Exclude<SseCloseReason, 'client' | 'slow'> = 'done'): void {
    if (reason === 'shutdown' && this.isOpen) {
      this.write(`event: reconnect\ndata: ${JSON.stringify({ runId: this.runId ?? null, lastEventId: this.lastId ?? null, retryMs: this.config.retryMs, reason: 'shutdown' })}\n\n`);
    }
    this.end(reason);
  }

  private write(chunk: string): void {
    if (this.closeReason === undefined) this.reply.raw.write(chunk);
  }

  /** Holds the sender until the backlog is flushed; a reader that does not take it within a heartbeat interval is cut off. */
  private async awaitReader(flushed: Promise<void>): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    let onClose: (() => void) | undefined;
    const outcome = await Promise.race([
      flushed.then(() => 'flushed' as const),
      new Promise<'slow'>((resolve) => (timer = setTimeout(() => resolve('slow'), this.config.heartbeatMs))),
      new Promise<'closed'>((resolve) => {
        onClose = () => resolve('closed');
        this.signal.addEventListener('abort', onClose, { once: true });
      }),
    ]);
    clearTimeout(timer);
    if (onClose !== undefined) this.signal.removeEventListener('abort', onClose);
    if (outcome === 'slow') this.end('slow');
    return this.isOpen;
  }

  private end(reason: SseCloseReason): void {
    if (this.closeReason !== undefined) return;
    this.closeReason = reason;
    clearInterval(this.heartbeat);
    this.metrics.sseActive.dec();
    if (reason === 'client' || reason === 'slow') this.metrics.sseAborted.inc({ reason });
    const raw = this.reply.raw;
    // A reader that stopped reading cannot be ended politely: its buffer would never drain.
    if (reason === 'slow') raw.destroy();
    else if (!raw.writableEnded) raw.end();
    this.controller.abort(new Error(`stream closed: ${reason}`));
    this.onClose(this);
  }
}

/** The open streams of this instance, so shutdown can tell every reader to reconnect elsewhere. */
export class SseRegistry {
  private readonly streams = new Set<SseStream>();
  private readonly emptied = new Set<() => void>();

  constructor(
    private readonly config: GatewayConfig['sse'],
    private readonly metrics: Metrics,
  ) {}

  get size(): number {
    return this.streams.size;
  }

  open(reply: FastifyReply, runId?: string): SseStream {
    const stream = new SseStream(
      reply,
      this.config,
      this.metrics,
      (closed) => {
        this.streams.delete(closed);
        if (this.streams.size === 0) for (const resolve of this.emptied) resolve();
      },
      runId,
    );
    this.streams.add(stream);
    return stream;
  }

  /**
   * Shutdown: streams of runs that just ended still deliver their last events and close by
   * themselves; whatever is still open after `boundMs` (a paused run, a run driven by another
   * replica, a slow reader) is ended with a `reconnect` event and the retry hint, so its client
   * resumes on another replica with Last-Event-ID.
   */
  async drainThenClose(boundMs: number): Promise<void> {
    if (this.streams.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      let resolveEmpty: (() => void) | undefined;
      await new Promise<void>((resolve) => {
        resolveEmpty = resolve;
        this.emptied.add(resolve);
        timer = setTimeout(resolve, boundMs);
      });
      clearTimeout(timer);
      if (resolveEmpty !== undefined) this.emptied.delete(resolveEmpty);
    }
    for (const stream of [...this.streams]) stream.close('shutdown');
  }
}
