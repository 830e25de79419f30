/**
 * Server-sent events over fetch. EventSource cannot send an Authorization header, so the console
 * reads the response body itself and parses it as the HTML living standard describes.
 */

/**
 * @typedef {{ id: string | undefined, event: string, data: string }} SseMessage
 * @typedef {{ retry: number }} SseControl
 */

/**
 * Yields each dispatched message of an event stream, and `{ retry }` when the server sends a
 * reconnection hint. Comments (heartbeats) are skipped. Ends when the body ends; a dropped
 * connection surfaces as the error the body stream raises.
 * @param {ReadableStream<Uint8Array>} body
 * @returns {AsyncGenerator<SseMessage | SseControl>}
 */
export async function* readEventStream(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let event = '';
  let data = [];
  let id;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      // A trailing '\r' may be the first half of a '\r\n' split across chunks: keep it for the next one.
      const lines = buffer.split(/\r\n|\r(?!$)|\n/);
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        if (line === '') {
          if (data.length > 0) yield { id, event: event === '' ? 'message' : event, data: data.join('\n') };
          event = '';
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const raw = colon === -1 ? '' : line.slice(colon + 1);
        const text = raw.startsWith(' ') ? raw.slice(1) : raw;
        if (field === 'event') event = text;
        else if (field === 'data') data.push(text);
        else if (field === 'id' && !text.includes('\0')) id = text;
        else if (field === 'retry' && /^\d+$/.test(text)) yield { retry: Number(text) };
      }
    }
  } finally {
    // Stops the download when the consumer leaves early (a `done` event, a Stop, a sign-out).
    reader.cancel().catch(() => {});
  }
}
