/**
 * Per-server credentials (issue 9): a hosted server with its own static key (the assertion moved to a
 * header of its own), a server behind OAuth client credentials, and servers behind RFC 8693 token
 * exchange at the dev issuer, side by side with the sample servers that take the gateway's assertion.
 * The test server verifies bearer tokens against the dev issuer's keys, as a real resource server would.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, jwtVerify, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_CLIENT_ID, DEV_CLIENT_SECRET, startDevIssuer, type DevIssuer } from '../../src/dev/dev-issuer.js';
import { findDemoUser } from '../../src/dev/demo-users.js';
import { api, startGateway, startTestStack, testConfig, TEST_ASSERTION_ISSUER, type RunningGateway, type TestStack } from '../helpers/stack.js';

/** A Streamable HTTP MCP server (SDK v1, stateless) that records each request's headers and can refuse the next ones with 401. */
interface ResourceServer {
  readonly url: string;
  readonly seen: IncomingHttpHeaders[];
  refuseNext(count: number): void;
  close(): Promise<void>;
}

async function startResourceServer(verify: (authorization: string | undefined) => Promise<boolean>): Promise<ResourceServer> {
  const seen: IncomingHttpHeaders[] = [];
  let refusals = 0;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    seen.push(req.headers);
    if (refusals > 0 || !(await verify(req.headers.authorization))) {
      refusals = Math.max(0, refusals - 1);
      res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"', 'content-type': 'application/json' }).end('{"error":"invalid_token"}');
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = chunks.length === 0 ? undefined : JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const server = new McpServer({ name: 'resource', version: '1.0.0' });
    server.registerTool('whoami', { description: 'Who the bearer token names.', annotations: { readOnlyHint: true } }, () => {
      const token = req.headers.authorization?.slice('Bearer '.length) ?? '';
      return { content: [{ type: 'text', text: JSON.stringify(decodeJwt(token)) }] };
    });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => void transport.close());
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  };
  const http: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    seen,
    refuseNext: (count) => {
      refusals = count;
    },
    close: () =>
      new Promise((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      }),
  };
}

const HOSTED_KEY = 'hosted-key-1234';

let stack: TestStack;
let idp: DevIssuer;
let hosted: ResourceServer;
let oauth: ResourceServer;
let gw: RunningGateway;
let alice: string;
let bob: string;

beforeAll(async () => {
  stack = await startTestStack();
  // An identity provider that also answers machine grants: the gateway's client may exchange for
  // `inventory-api` (anyone) and `vault-api` (only holders of the realm role vault-user).
  idp = await startDevIssuer({ exchangeAudiences: { 'inventory-api': {}, 'vault-api': { requiredRole: 'vault-user' } }, machineTokenLifetimeSec: 120 });
  const idpKeys = createRemoteJWKSet(new URL(idp.jwksUri));
  hosted = await startResourceServer(async (authorization) => authorization === `Bearer ${HOSTED_KEY}`);
  oauth = await startResourceServer(async (authorization) => {
    if (authorization?.startsWith('Bearer ') !== true) return false;
    return jwtVerify(authorization.slice('Bearer '.length), idpKeys, { issuer: idp.issuerUrl }).then(
      () => true,
      () => false,
    );
  });
  const exchange = { type: 'token-exchange' as const, clientSecret: DEV_CLIENT_SECRET };
  gw = await startGateway(
    testConfig(stack, {
      // Users sign in at this identity provider, so their tokens can be exchanged there.
      auth: { issuers: [idp.issuerUrl], jwksUri: idp.jwksUri },
      servers: {
        hosted: { url: hosted.url, roles: ['employee'], headers: { 'x-api-version': '2' }, auth: { type: 'bearer', token: HOSTED_KEY, assertionHeader: 'x-gateway-assertion' } },
        machine: { url: oauth.url, roles: ['employee'], auth: { type: 'oauth2-client-credentials', tokenEndpoint: idp.tokenEndpoint, clientId: DEV_CLIENT_ID, clientSecret: DEV_CLIENT_SECRET, scopes: ['profile'] } },
        inventory: { url: oauth.url, roles: ['employee'], auth: { ...exchange, audience: 'inventory-api', tokenEndpoint: idp.tokenEndpoint } },
        vault: { url: oauth.url, roles: ['employee'], auth: { ...exchange, audience: 'vault-api', tokenEndpoint: idp.tokenEndpoint } },
      },
    }),
  );
  alice = await idp.tokenFor('alice.chen');
  bob = await idp.tokenFor('bob.martinez');
  await gw.gateway.tools.catalogue.loaded();
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await Promise.all([hosted?.close(), oauth?.close(), idp?.close()]);
  await stack?.close();
});

const whoami = (server: string, token: string) => api(`${gw.url}/api/tools/${server}/whoami`, { token, body: { arguments: {} } });
const claimsOf = (response: { body: any }): Record<string, unknown> => JSON.parse(String(response.body.result.content[0].text)) as Record<string, unknown>;

describe('a hosted server with its own key', () => {
  it('gets its static key as the bearer, the assertion in a header of its own and its static headers', async () => {
    const first = hosted.seen.length;
    const response = await whoami('hosted', alice);
    expect(response.status).toBe(200);
    const sent = hosted.seen.slice(first);
    expect(sent.length).toBeGreaterThan(0);
    const jwks = createLocalJWKSet((await api(`${gw.url}/.well-known/jwks.json`)).body as { keys: JWK[] });
    for (const headers of sent) {
      expect(headers.authorization).toBe(`Bearer ${HOSTED_KEY}`);
      expect(headers['x-api-version']).toBe('2');
      expect(JSON.stringify(headers)).not.toContain(alice);
      const { payload } = await jwtVerify(String(headers['x-gateway-assertion']), jwks, { issuer: TEST_ASSERTION_ISSUER, audience: 'hosted' });
      expect(payload.sub).toBe(findDemoUser('alice.chen')!.sub);
    }
  });
});

describe('OAuth client credentials', () => {
  it("sends the gateway client's service-account token, fetched once and reused while valid", async () => {
    const fetched = idp.machineGrants.clientCredentials;
    const first = await whoami('machine', alice);
    const second = await whoami('machine', bob);
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(claimsOf(first)).toMatchObject({ azp: DEV_CLIENT_ID, preferred_username: `service-account-${DEV_CLIENT_ID}`, iss: idp.issuerUrl });
    expect(claimsOf(second).jti).toBe(claimsOf(first).jti);
    // Listing may have fetched it already; the two calls fetched nothing more than one token.
    expect(idp.machineGrants.clientCredentials - fetched).toBeLessThanOrEqual(1);
  });

  it('a 401 from the server makes the gateway fetch a fresh token once and repeat the request', async () => {
    const before = claimsOf(await whoami('machine', alice)).jti;
    const fetched = idp.machineGrants.clientCredentials;
    oauth.refuseNext(1);
    const response = await whoami('machine', alice);
    expect(response.status).toBe(200);
    expect(idp.machineGrants.clientCredentials).toBe(fetched + 1);
    expect(claimsOf(response).jti).not.toBe(before);
  });
});

describe('RFC 8693 token exchange', () => {
  it("sends a token for the upstream's audience naming the caller, never the caller's own token", async () => {
    const first = oauth.seen.length;
    const response = await whoami('inventory', alice);
    expect(response.status).toBe(200);
    const claims = claimsOf(response);
    expect(claims).toMatchObject({ sub: findDemoUser('alice.chen')!.sub, preferred_username: 'alice.chen', aud: 'inventory-api', azp: DEV_CLIENT_ID, iss: idp.issuerUrl });
    for (const headers of oauth.seen.slice(first)) expect(JSON.stringify(headers)).not.toContain(alice);
  });

  it('caches exchanged tokens per user and server until they expire', async () => {
    const exchanged = idp.machineGrants.tokenExchange;
    const again = await whoami('inventory', alice);
    expect(again.status).toBe(200);
    expect(idp.machineGrants.tokenExchange).toBe(exchanged);
    const other = await whoami('inventory', bob);
    expect(other.status).toBe(200);
    expect(claimsOf(other).preferred_username).toBe('bob.martinez');
    expect(idp.machineGrants.tokenExchange).toBe(exchanged + 1);
  });

  it('a refused exchange is 403 MCP_2007, and the server is never called with anything else', async () => {
    const first = oauth.seen.length;
    const response = await whoami('vault', alice);
    expect(response.status).toBe(403);
    expect(response.body.error).toMatchObject({ code: 'MCP_2007', retryable: false });
    expect(response.body.error.details.reason).toMatch(/access_denied/);
    expect(oauth.seen.length).toBe(first);
  });

  it('works side by side with the servers that take the gateway assertion', async () => {
    const [hr, inventory, hostedAnswer] = await Promise.all([
      api(`${gw.url}/api/tools/hr/list_employees`, { token: alice, body: { arguments: { limit: 1 } } }),
      whoami('inventory', alice),
      whoami('hosted', alice),
    ]);
    expect([hr.status, inventory.status, hostedAnswer.status]).toEqual([200, 200, 200]);
  });
});
