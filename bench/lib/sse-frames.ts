/** A minimal SSE frame reader over a node:http response, for the benchmarks that need event ids. */
import { request, type ClientRequest } from 'node:http';

export interface Frame {
  id: string | undefined;
  event: string;
  data: unknown;
}

/** Splits complete `\n\n`-terminated blocks off `buffer`; comments and the retry hint yield no frame. */
export function takeFrames(buffer: string): { frames: Frame[]; rest: string } {
  const frames: Frame[] = [];
  let rest = buffer;
  let boundary: number;
  while ((boundary = rest.indexOf('\n\n')) >= 0) {
    const block = rest.slice(0, boundary);
    rest = rest.slice(boundary + 2);
    let id: string | undefined;
    let event: string | undefined;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('id: ')) id = line.slice(4);
      else if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    if (event !== undefined) frames.push({ id, event, data: JSON.parse(data.join('\n')) });
  }
  return { frames, rest };
}

export interface OpenRun {
  /** Frames up to and including the one `until` accepted. */
  readonly frames: Frame[];
  /** Hangs up: the gateway sees its reader go. */
  close(): void;
}

/** Starts a run with POST /api/query and reads until `until` holds; the stream stays open. */
export function startRun(baseUrl: string, token: string, query: string, until: (frame: Frame) => boolean): Promise<OpenRun> {
  const body = JSON.stringify({ query });
  return new Promise((resolve, reject) => {
    const req: ClientRequest = request(new URL('/api/query', baseUrl), {
      method: 'POST',
      agent: false,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return reject(new Error(`POST /api/query answered ${res.statusCode}`));
      }
      const frames: Frame[] = [];
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const taken = takeFrames(buffer + chunk);
        buffer = taken.rest;
        for (const frame of taken.frames) {
          frames.push(frame);
          if (until(frame)) resolve({ frames, close: () => req.destroy() });
        }
      });
      res.on('end', () => reject(new Error(`the run ended before the awaited frame (got ${frames.map((frame) => frame.event).join(', ')})`)));
    });
    req.end(body);
  });
}
