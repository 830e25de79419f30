/**
 * Routes mounted only by the embedded demo: what `mcp-gateway dev-token` and the console need to get a
 * demo user's token. The token endpoint is proxied through the gateway so the console, whose CSP
 * allows only its own origin, can use it too.
 */
import type { FastifyInstance } from 'fastify';
import { GatewayError } from '../errors.js';
import { DEMO_USERS, findDemoUser } from './demo-users.js';
import type { DemoStack } from './demo-stack.js';

export async function registerDevRoutes(app: FastifyInstance, stack: DemoStack): Promise<void> {
  await app.register(async (scope) => {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(String(body))));
    });

    scope.get('/dev/info', async (request) => ({
      profile: 'embedded-demo',
      issuer: stack.issuer.issuerUrl,
      tokenEndpoint: `${request.protocol}://${request.host}/dev/token`,
      clientId: stack.endpoints.clientId,
      users: DEMO_USERS.map((user) => user.username),
      simulatedModel: stack.model !== undefined,
    }));

    scope.post<{ Body: { username?: unknown } | undefined }>('/dev/token', async (request, reply) => {
      const username = request.body?.username;
      if (typeof username !== 'string' || findDemoUser(username) === undefined) {
        throw new GatewayError('REQ_4000', { message: 'username must name a demo user', details: { users: DEMO_USERS.map((user) => user.username) } });
      }
      const response = await fetch(stack.issuer.tokenEndpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'password', username, password: 'demo', client_id: stack.endpoints.clientId }),
      });
      return reply
        .status(response.status)
        .header('cache-control', 'no-store')
        .type('application/json')
        .send(await response.text());
    });
  });
}
