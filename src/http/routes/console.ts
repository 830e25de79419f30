/**
 * The web console: a static page and its modules, served from `web/` by the gateway itself so it is
 * same-origin with the API (no CORS, and the strict CSP of the edge applies to it unchanged).
 * `GET /` answers the page; `GET /console/*` its assets. Nothing here needs a token: the page holds
 * the user's token in the browser and sends it to the API.
 */
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** `web/` at the package root: three levels up from both src/http/routes and dist/http/routes. */
const WEB_ROOT = fileURLToPath(new URL('../../../web/', import.meta.url));
const ASSETS_ROOT = fileURLToPath(new URL('../../../web/console/', import.meta.url));

export async function registerConsole(app: FastifyInstance): Promise<void> {
  // Encapsulated, so the plugin's reply decorators cannot clash with another static mount.
  await app.register(async (scope) => {
    await scope.register(fastifyStatic, {
      root: ASSETS_ROOT,
      prefix: '/console/',
      index: false,
      list: false,
      // The files are not fingerprinted: browsers revalidate (ETag) so a deploy shows at once.
      maxAge: 0,
    });
    scope.get('/', async (_request, reply) => reply.sendFile('index.html', WEB_ROOT));
  });
}
