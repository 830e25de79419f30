/**
 * `npm run demo:keycloak`: the demo with a real Keycloak instead of the dev issuer. Starts Keycloak
 * (fetched through Maven on first use; needs Java 17+ and Maven) with the realm of deploy/keycloak,
 * the sample MCP servers, the simulated model (unless ANTHROPIC_API_KEY is set), and the gateway
 * pointing at Keycloak. The plain `npm start` demo needs none of this.
 */
import { createGateway } from '../src/app.js';
import { demoConfig } from '../src/config/demo-profile.js';
import { parseConfig } from '../src/config/load.js';
import { DEMO_USERS } from '../src/dev/demo-users.js';
import { lazyRemoteKeys } from '../src/dev/demo-stack.js';
import { closeSampleServers, startSampleServers } from '../src/dev/sample-servers/index.js';
import { startSimulatedAnthropic } from '../src/dev/sim-anthropic/index.js';
import { ensureKeycloak, KEYCLOAK_ADMIN, startKeycloak } from './keycloak.js';

const out = (line: string): void => void process.stdout.write(`${line}\n`);
const port = Number(process.env.PORT ?? 8080);
const keycloakPort = Number(process.env.KEYCLOAK_PORT ?? 8180);
// The realm's redirect and back-channel logout URLs name the gateway at 127.0.0.1:8080.
const gatewayUrl = `http://127.0.0.1:${port}`;

const distribution = await ensureKeycloak(out);
const keycloak = await startKeycloak(distribution, { port: keycloakPort, log: out });
const closers: Array<() => Promise<unknown>> = [() => keycloak.stop()];
const shutdown = async (): Promise<void> => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
};

try {
  const servers = await startSampleServers({ issuer: gatewayUrl, keys: lazyRemoteKeys(`${gatewayUrl}/.well-known/jwks.json`) });
  closers.push(() => closeSampleServers(servers));
  const useRealModel = (process.env.ANTHROPIC_API_KEY ?? '') !== '';
  const model = useRealModel ? undefined : await startSimulatedAnthropic({ firstTokenMs: 200, tokenDelayMs: 20 });
  if (model !== undefined) closers.push(() => model.close());
  const issuer = `${keycloak.url}/realms/acme`;
  const base = demoConfig(
    {
      issuerUrl: issuer,
      jwksUri: `${issuer}/protocol/openid-connect/certs`,
      clientId: 'mcp-gateway',
      servers: { hr: servers.hr.url, finance: servers.finance.url, sales: servers.sales.url, support: servers.support.url },
      simulatedModelUrl: model?.url,
    },
    process.env,
  );
  const config = parseConfig(
    {
      ...base,
      server: { ...base.server, port, publicUrl: gatewayUrl },
      auth: { ...base.auth, backchannelLogout: { trustedClients: ['mcp-console', 'mcp-desktop'] } },
      // The console signs in on Keycloak's login page (authorization code + PKCE, public client).
      console: { signIn: { issuer, clientId: 'mcp-console' } },
    },
    process.env,
  );
  const gateway = await createGateway(config, { processMetrics: true });
  closers.push(() => gateway.close());
  await gateway.listen();

  out('');
  out(`Gateway:   ${gatewayUrl}  (console: ${gatewayUrl}/ signs in through Keycloak; MCP endpoint: ${gatewayUrl}/mcp)`);
  out(`Keycloak:  ${keycloak.url}  (admin console: ${keycloak.url}/admin, ${KEYCLOAK_ADMIN.username} / ${KEYCLOAK_ADMIN.password}; started in ${(keycloak.startMs / 1000).toFixed(0)} s)`);
  out(`Realm:     ${issuer}`);
  out(`Users:     ${DEMO_USERS.map((user) => user.username).join(', ')} (password: demo-password)`);
  out(`Model:     ${model === undefined ? 'Anthropic API' : `${model.url} (simulated)`}`);
  out('Try:');
  out(`  TOKEN=$(curl -s -d grant_type=password -d client_id=mcp-gateway -d client_secret=mcp-gateway-demo-secret \\`);
  out(`    -d username=alice.chen -d password=demo-password ${issuer}/protocol/openid-connect/token | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')`);
  out(`  curl -H "Authorization: Bearer $TOKEN" ${gatewayUrl}/api/me`);
  out('Ctrl-C stops everything, Keycloak included.');
} catch (error) {
  await shutdown();
  throw error;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    out(`\n${signal}: stopping the gateway, the demo servers and Keycloak`);
    void shutdown().then(() => process.exit(0));
  });
}
