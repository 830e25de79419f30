/** The `mcp-gateway` command line: start, check-config, dev-token, revoke. */
import { parseArgs } from 'node:util';
import { createGateway, type Gateway } from './app.js';
import { demoConfig } from './config/demo-profile.js';
import { ConfigError, loadConfigFile, parseConfig } from './config/load.js';
import type { GatewayConfig } from './config/schema.js';
import type { DemoStack } from './dev/demo-stack.js';
import { startTelemetry } from './ops/otel-sdk.js';

const USAGE = `Usage:
  mcp-gateway start [--config FILE]      run the gateway (no config: the embedded demo profile)
  mcp-gateway check-config FILE          validate a config file and list every problem
  mcp-gateway dev-token USERNAME         print an access token for a demo user (demo gateway must be running)
  mcp-gateway revoke (--jti ID | --sid ID | --sub SUB --before ISO-TIME)
                                         revoke tokens through the admin API (token: --token or $MCP_GATEWAY_TOKEN,
                                         a gateway-admin's access token)
  Common: [--gateway URL]                the gateway (default $MCP_GATEWAY_URL, else http://127.0.0.1:$PORT or :8080)`;

type Output = (line: string) => void;
const out: Output = (line) => process.stdout.write(`${line}\n`);
const err: Output = (line) => process.stderr.write(`${line}\n`);

function withPortFromEnv(config: GatewayConfig, env: NodeJS.ProcessEnv): GatewayConfig {
  if (env.PORT === undefined) return config;
  return { ...config, server: { ...config.server, port: Number(env.PORT) } };
}

/** Starts the embedded demo's services and the config that points at them. */
async function startDemo(env: NodeJS.ProcessEnv): Promise<{ config: GatewayConfig; stack: DemoStack }> {
  const useRealModel = (env.ANTHROPIC_API_KEY ?? '') !== '';
  out('Running the embedded demo profile: dev identity provider, sample MCP servers, in-memory store (no config file given).');
  if (!useRealModel) {
    out('*** ANTHROPIC_API_KEY is not set: answers come from the SIMULATED model, not from Claude. ***');
  }
  const port = env.PORT === undefined ? 8080 : Number(env.PORT);
  // The demo's modules (mock issuer, sample servers, simulated model) load only when it runs.
  const { startDemoStack } = await import('./dev/demo-stack.js');
  const stack = await startDemoStack({
    gatewayUrl: `http://127.0.0.1:${port}`,
    useRealModel,
    firstTokenMs: Number(env.SIM_LLM_FIRST_TOKEN_MS ?? 200),
    tokenDelayMs: Number(env.SIM_LLM_TOKEN_DELAY_MS ?? 20),
  });
  try {
    return { config: parseConfig(demoConfig(stack.endpoints, env), env), stack };
  } catch (error) {
    await stack.close();
    throw error;
  }
}

async function start(configFile: string | undefined, env: NodeJS.ProcessEnv): Promise<number> {
  const { config, stack } =
    configFile === undefined ? await startDemo(env) : { config: withPortFromEnv(await loadConfigFile(configFile, env), env), stack: undefined };
  let gateway: Gateway | undefined;
  let url: string;
  // OTLP trace export when OTEL_EXPORTER_OTLP_ENDPOINT is set; nothing loads otherwise.
  const stopTelemetry = await startTelemetry(env);
  try {
    const devRoutes = stack === undefined ? undefined : (await import('./dev/dev-routes.js')).registerDevRoutes;
    gateway = await createGateway(config, {
      processMetrics: true,
      extraRoutes: stack === undefined || devRoutes === undefined ? undefined : (app) => devRoutes(app, stack),
    });
    url = await gateway.listen();
  } catch (error) {
    // A failed start (e.g. the port is taken) must not leave servers holding the process open.
    await gateway?.close().catch(() => undefined);
    await stack?.close().catch(() => undefined);
    await stopTelemetry?.().catch(() => undefined);
    throw error;
  }
  gateway.app.log.info({ url, profile: stack === undefined ? configFile : 'embedded-demo' }, 'gateway ready');
  if (stack !== undefined) {
    const { endpoints } = stack;
    out(`Gateway:          ${url}`);
    out(`Dev issuer:       ${endpoints.issuerUrl}`);
    for (const [name, serverUrl] of Object.entries(endpoints.servers)) out(`MCP server ${name.padEnd(8)}${serverUrl}`);
    out(`Model:            ${endpoints.simulatedModelUrl ?? 'Anthropic API'}${endpoints.simulatedModelUrl === undefined ? '' : ' (simulated)'}`);
    out(`Try:              TOKEN=$(npx mcp-gateway dev-token alice.chen) && curl -H "Authorization: Bearer $TOKEN" ${url}/api/me`);
  }

  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      gateway.app.log.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await gateway.close();
  await stack?.close();
  await stopTelemetry?.();
  return 0;
}

async function checkConfig(file: string | undefined, env: NodeJS.ProcessEnv): Promise<number> {
  if (file === undefined) {
    err(USAGE);
    return 2;
  }
  await loadConfigFile(file, env);
  out(`${file}: valid`);
  return 0;
}

function gatewayBase(gatewayUrl: string | undefined, env: NodeJS.ProcessEnv): string {
  return gatewayUrl ?? env.MCP_GATEWAY_URL ?? `http://127.0.0.1:${env.PORT ?? '8080'}`;
}

interface RevokeOptions {
  jti?: string | undefined;
  sid?: string | undefined;
  sub?: string | undefined;
  before?: string | undefined;
  token?: string | undefined;
  gateway?: string | undefined;
}

async function revoke(options: RevokeOptions, env: NodeJS.ProcessEnv): Promise<number> {
  const token = options.token ?? env.MCP_GATEWAY_TOKEN;
  const body =
    options.jti !== undefined ? { jti: options.jti } : options.sid !== undefined ? { sid: options.sid } : options.sub !== undefined ? { sub: options.sub, before: options.before } : undefined;
  if (token === undefined || body === undefined) {
    err(USAGE);
    return 2;
  }
  const response = await fetch(`${gatewayBase(options.gateway, env)}/api/admin/revocations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  (response.ok ? out : err)(text);
  return response.ok ? 0 : 1;
}

async function devToken(username: string | undefined, gatewayUrl: string | undefined, env: NodeJS.ProcessEnv): Promise<number> {
  if (username === undefined) {
    err(USAGE);
    return 2;
  }
  const base = gatewayBase(gatewayUrl, env);
  const infoResponse = await fetch(`${base}/dev/info`).catch((error: unknown) => {
    throw new Error(`cannot reach the demo gateway at ${base} (${String(error)}); start it with npm start`);
  });
  if (!infoResponse.ok) throw new Error(`${base} is not running the embedded demo profile (GET /dev/info answered ${infoResponse.status})`);
  const info = (await infoResponse.json()) as { tokenEndpoint: string; clientId: string; users: string[] };
  if (!info.users.includes(username)) throw new Error(`unknown demo user ${username}; choose one of: ${info.users.join(', ')}`);
  const tokenResponse = await fetch(info.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'password', username, password: 'demo', client_id: info.clientId }),
  });
  if (!tokenResponse.ok) throw new Error(`the dev issuer refused: ${tokenResponse.status} ${await tokenResponse.text()}`);
  const { access_token: token } = (await tokenResponse.json()) as { access_token: string };
  out(token);
  return 0;
}

export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      gateway: { type: 'string' },
      token: { type: 'string' },
      jti: { type: 'string' },
      sid: { type: 'string' },
      sub: { type: 'string' },
      before: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, argument] = positionals;
  try {
    switch (command) {
      case 'start':
        return await start(values.config, env);
      case 'check-config':
        return await checkConfig(argument ?? values.config, env);
      case 'dev-token':
        return await devToken(argument, values.gateway, env);
      case 'revoke':
        return await revoke(values, env);
      default:
        (values.help === true ? out : err)(USAGE);
        return values.help === true ? 0 : 2;
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const problem of error.problems) err(problem);
      return 1;
    }
    err(`mcp-gateway: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
