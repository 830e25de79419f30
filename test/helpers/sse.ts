/** A small SSE client for tests: reads frames (and comments, for heartbeats) from a fetch response. */

export interface SseFrame {
  id?: string;
  event: string;
  data: any;
}

export interface SseConnection {
  status: number;
  headers: Headers;
  /** Frames as they arrive; `: ping` comments come through as `{event: 'comment', data: 'ping'}`. */
  frames: AsyncGenerator<SseFrame>;
  abort(): void;
  /** Body text for non-200 answers. */
  errorBody?: any;
}

export async function openSse(
  url: string,
  options: { token?: string; body?: unknown; method?: string; headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<SseConnection> {
  const controller = new AbortController();
  options.signal?.addEventListener('abort', () => controller.abort(), { once: true });
  const headers: Record<string, string> = { accept: 'text/event-stream', ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(url, {
    method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: controller.signal,
  });
  if (response.status !== 200 || !(response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    const text = await response.text();
    let errorBody: unknown = text;
    try {
      errorBody = JSON.parse(text);
    } catch {
      // keep text
    }
    return { status: response.status, headers: response.headers, frames: (async function* () {})(), abort: () => controller.abort(), errorBody };
  }
  const body = response.body;
  if (body === null) throw new Error('no body');
  return { status: response.status, headers: response.headers, frames: parse(body), abort: () => controller.abort() };
}

async function* parse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseFrame> {
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of body) {
      buffer += decoder.decode(chunk, { stream: true });
      let boundary: number;
      while ((boundary = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        const frame: { id?: string; event?: string; data: string[] } = { data: [] };
        let comment: string | undefined;
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) comment = line.slice(1).trim();
          else if (line.startsWith('id: ')) frame.id = line.slice(4);
          else if (line.startsWith('event: ')) frame.event = line.slice(7);
          else if (line.startsWith('data: ')) frame.data.push(line.slice(6));
        }
        if (frame.event !== undefined) yield { id: frame.id, event: frame.event, data: JSON.parse(frame.data.join('\n')) };
        else if (comment !== undefined) yield { event: 'comment', data: comment };
      }
    }
  } catch (error) {
    if ((error as Error).name !== 'AbortError') throw error;
  }
}

/**
 * Reads frames until `until` holds (default: the `done` event) or the stream ends, skipping comments.
 * It pulls with next() rather than for-await, so the stream stays open for a later call.
 */
export async function collectRun(connection: SseConnection, until: (frame: SseFrame) => boolean = (frame) => frame.event === 'done'): Promise<SseFrame[]> {
  const frames: SseFrame[] = [];
  for (;;) {
    const next = await connection.frames.next();
    if (next.done === true) return frames;
    if (next.value.event === 'comment') continue;
    frames.push(next.value);
    if (until(next.value)) return frames;
  }
}
