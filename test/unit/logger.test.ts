/** Logs must never carry credentials, wherever they appear in a log object. */
import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { loggerOptions } from '../../src/ops/logger.js';

function capture(): { stream: Writable; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, lines: () => chunks.join('').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe('logger settings', () => {
  it('redacts authorization headers, cookies and token-like fields', async () => {
    const { stream, lines } = capture();
    const options = loggerOptions({ level: 'info', pretty: false });
    const app = Fastify({ logger: { ...(options as object), stream } });
    app.log.info(
      {
        req: { headers: { authorization: 'Bearer eyJsecret', cookie: 'session=abc' } },
        body: { token: 'tok-123', access_token: 'at-456', logout_token: 'lt-789', password: 'hunter2', harmless: 'visible' },
        llm: { apiKey: 'sk-ant-secret' },
      },
      'with secrets',
    );
    await app.close();
    const text = JSON.stringify(lines());
    for (const secret of ['eyJsecret', 'session=abc', 'tok-123', 'at-456', 'lt-789', 'hunter2', 'sk-ant-secret']) expect(text).not.toContain(secret);
    expect(text).toContain('visible');
    expect(text).toContain('[redacted]');
  });

  it('writes JSON lines by default and honours the level', async () => {
    const { stream, lines } = capture();
    const app = Fastify({ logger: { ...(loggerOptions({ level: 'warn', pretty: false }) as object), stream } });
    app.log.info('hidden');
    app.log.warn('shown');
    await app.close();
    expect(lines().map((line) => line.msg)).toEqual(['shown']);
  });
});
