/** Routes mounted only by the embedded demo: where `mcp-gateway dev-token` finds the dev issuer. */
import type { FastifyInstance } from 'fastify';
import { DEMO_USERS } from './demo-users.js';
import type { DemoStack } from './demo-stack.js';

export function registerDevRoutes(app: FastifyInstance, stack: DemoStack): void {
  app.get('/dev/info', async () => ({
    profile: 'embedded-demo',
    issuer: stack.issuer.issuerUrl,
    tokenEndpoint: stack.issuer.tokenEndpoint,
    clientId: stack.endpoints.clientId,
    users: DEMO_USERS.map((user) => user.username),
    simulatedModel: stack.model !== undefined,
  }));
}
