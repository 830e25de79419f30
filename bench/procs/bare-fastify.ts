/**
 * The baseline for GET /api/me: a bare Fastify app with one JSON route, in a process of its own like
 * the gateway child, so both are measured in the same layout. Answers `start` (its URL) and `cpu`.
 */
import Fastify from 'fastify';
import { serveRequests } from '../lib/child.js';

const app = Fastify({ logger: false });
app.get('/hello', async () => ({ hello: 'world' }));

serveRequests(async (body) => {
  const message = body as { kind: 'start' } | { kind: 'cpu' };
  if (message.kind === 'cpu') {
    const usage = process.cpuUsage();
    return { cpuUs: usage.user + usage.system };
  }
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no address');
  return `http://127.0.0.1:${address.port}/hello`;
});
