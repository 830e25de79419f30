/**
 * The web console: a static page and its modules, served from `web/` by the gateway itself so it is
 * same-origin with the API (no CORS, and the strict CSP of the edge applies to it unchanged).
 * `GET /` answers the page; `GET /console/*` its assets; `GET /console/vendor/*` the browser builds
 * of the libraries it uses (markdown, sanitiser, OIDC), straight from the installed packages, so a
 * production install needs no build step and no CDN; `GET /console/config.json` how to sign in.
 * Nothing here needs a token: the page holds the user's token in the browser and sends it to the API.
 */
import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import type { GatewayConfig } from '../../config/schema.js';

/** `web/` at the package root: three levels up from both src/http/routes and dist/http/routes. */
const WEB_ROOT = fileURLToPath(new URL('../../../web/', import.meta.url));
const ASSETS_ROOT = fileURLToPath(new URL('../../../web/console/', import.meta.url));

const require = createRequire(import.meta.url);

/** Each package's self-contained ES module build, found next to the entry Node resolves for it. */
const VENDOR: Record<string, { packageName: string; file: string }> = {
  'marked.js': { packageName: 'marked', file: 'marked.esm.js' },
  'purify.js': { packageName: 'dompurify', file: 'purify.es.mjs' },
  'oauth4webapi.js': { packageName: 'oauth4webapi', file: 'index.js' },
};

const vendorFiles = new Map(Object.entries(VENDOR).map(([name, { packageName, file }]) => [name, join(dirname(require.resolve(packageName)), file)]));

export async function registerConsole(app: FastifyInstance, config: GatewayConfig): Promise<void> {
  // Encapsulated, so the plugin's reply decorators cannot clash with another static mount.
  await app.register(async (scope) => {
    scope.get('/console/config.json', { schema: { summary: 'How the console signs in', security: [] } }, async (_request, reply) => {
      const signIn = config.console.signIn;
      return reply.header('cache-control', 'no-cache').send({
        signIn: signIn === undefined ? null : { issuer: signIn.issuer, clientId: signIn.clientId, scopes: signIn.scopes },
        adminRole: config.auth.adminRole,
      });
    });
    scope.get<{ Params: { name: string } }>('/console/vendor/:name', { schema: { hide: true } }, async (request, reply) => {
      const file = vendorFiles.get(request.params.name);
      if (file === undefined) return reply.callNotFound();
      return reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(createReadStream(file));
    });
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
