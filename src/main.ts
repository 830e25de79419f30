/** The `mcp-gateway` command line: start, check-config, dev-token, revoke. */
import { parseArgs } from 'node:util';
import { assertPortFree, forgetRunningDemo, recordRunningDemo, runningDemoUrl, StartError } from './cli-state.js';
import { createGateway, type Gateway } from './app.js';
import { demoConfig } from './config/demo-profile.js';
import { ConfigError, loadConfigFile, parseConfig } from './config/load.js';
import type { GatewayConfig } from './config/schema.js';
import type { DemoStack } from './dev/demo-stack.js';
import { startTelemetry } from './ops/otel-sdk.js';

const USAGE = `Usage:
  mcp-gateway start [--config FILE] [--port N]
                                         run the gateway (no config: the embedded demo profile); the port
                                         is --port, else $PORT, else the config's server.port (8080)
  mcp-gateway check-config FILE          validate a config file and list every problem
  mcp-gateway dev-token USERNAME         print an access token for a demo user (demo gateway must be running)
  mcp-gateway revoke (--jti ID | --sid ID | --sub SUB --before ISO-TIME)
                                         revoke tokens through the admin API (token: --token or $MCP_GATEWAY_TOKEN,
                                         a gateway-admin's access token)
  Common: [--gateway URL]                the gateway (default $MCP_GATEWAY_URL, else http://127.0.0.1:$PORT,
                                         else the demo started last on this machine, else :8080)`;

type Output = (line: string) => void;
const out: Output = (line) => process.stdout.write(`${line}\n`);
const err: Output = (line) => process.stderr.write(`${line}\n`);

/** --port, else PORT, else the config's own: the one port every hint and readiness line then uses. */
function portFrom(option: string | undefined, env: NodeJS.ProcessEnv, configured: number): number {
  const raw = option ?? env.PORT;
  if (raw === undefined || raw.trim() === '') return configured;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`${option === undefined ? 'PORT' : '--port'} must be a port number (0-65535), got "${raw}"`);
  return port;
}

function withPort(config: GatewayConfig, port: number): GatewayConfig {
  return { ...config, server: { ...config.server, port } };
}

/** Starts the embedded demo's services and the config that points at them. */
async function startDemo(port: number, env: NodeJS.ProcessEnv): Promise<{ config: GatewayConfig; stack: DemoStack }> {
  const useRealModel = (env.ANTHROPIC_API_KEY ?? '') !== '';
  out('Running the embedded demo profile: dev identity provider, sample MCP servers, in-memory store (no config file given).');
  if (!useRealModel) {
    out('*** ANTHROPIC_API_KEY is not set: answers come from the SIMULATED model, not from Claude. ***');
  }
  // The demo's modules (mock issuer, sample servers, simulated model) load only when it runs.
  const { demoPortsFromEnv, startDemoStack } = await import('./dev/demo-stack.js');
  const stack = await startDemoStack({
    gatewayUrl: `http://127.0.0.1:${port}`,
    useRealModel,
    firstTokenMs: Number(env.SIM_LLM_FIRST_TOKEN_MS ?? 200),
    tokenDelayMs: Number(env.SIM_LLM_TOKEN_DELAY_MS ?? 20),
    ports: demoPortsFromEnv(env),
  });
  try {
    return { config: parseConfig(demoConfig(stack.endpoints, { ...env, PORT: String(port) }), env), stack };
  } catch (error) {
    await stack.close();
    throw error;
  }
}

const UPSTREAM_WAIT_MS = 30_000;

/** Waits (bounded) until every upstream answers, then says so: readiness is `ready` from then on. */
async function reportUpstreams(gateway: Gateway, say: Output, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + UPSTREAM_WAIT_MS;
  while (!signal.aborted) {
    const { checks } = await gateway.health.readiness();
    const upstreams = Object.entries(checks).filter(([name]) => name.startsWith('upstream:'));
    const down = upstreams.filter(([, check]) => !check.ok).map(([name]) => name.slice('upstream:'.length));
    const names = upstreams.map(([name]) => name.slice('upstream:'.length));
    if (down.length === 0) {
      if (names.length > 0) say(`Upstreams:        ${names.join(', ')} connected; /health/ready says healthy`);
      gateway.app.log.info({ upstreams: names }, 'all upstreams connected');
      return;
    }
    if (Date.now() > deadline) {
      say(`Upstreams:        not connected yet: ${down.join(', ')} (readiness says which)`);
      gateway.app.log.warn({ upstreams: down }, 'upstreams not connected yet');
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function isAddressInUse(error: unknown): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
}

async function start(configFile: string | undefined, portOption: string | undefined, env: NodeJS.ProcessEnv): Promise<number> {
  const fileConfig = configFile === undefined ? undefined : await loadConfigFile(configFile, env);
  const port = portFrom(portOption, env, fileConfig?.server.port ?? 8080);
  const host = fileConfig?.server.host ?? '127.0.0.1';
  // Before anything starts: a busy port is one clear line, not a half-started demo logging its teardown.
  await assertPortFree(host, port);
  const { config, stack } = fileConfig === undefined ? await startDemo(port, env) : { config: withPort(fileConfig, port), stack: undefined };
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
    // A failed start (e.g. the port was taken meanwhile) must not leave servers holding the process open.
    // Its teardown would log every upstream connection it cut short; the one line below says what matters.
    if (gateway !== undefined) gateway.app.log.level = 'silent';
    await gateway?.close().catch(() => undefined);
    await stack?.close().catch(() => undefined);
    await stopTelemetry?.().catch(() => undefined);
    throw isAddressInUse(error) ? new StartError(`port ${port} on ${host} is already in use; start on another port with PORT=<port> or --port <port>`) : error;
  }
  gateway.app.log.info({ url, profile: stack === undefined ? configFile : 'embedded-demo' }, 'gateway ready');
  if (stack !== undefined) {
    const { endpoints } = stack;
    out(`Gateway:          ${url}`);
    out(`Dev issuer:       ${endpoints.issuerUrl}`);
    for (const [name, serverUrl] of Object.entries(endpoints.servers)) out(`MCP server ${name.padEnd(8)}${serverUrl}`);
    out(`Model:            ${endpoints.simulatedModelUrl ?? 'Anthropic API'}${endpoints.simulatedModelUrl === undefined ? '' : ' (simulated)'}`);
    out(`Try:              TOKEN=$(npx mcp-gateway dev-token alice.chen --gateway ${url}) && curl -H "Authorization: Bearer $TOKEN" ${url}/api/me`);
    await recordRunningDemo(url);
  }
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      gateway.app.log.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  const reporting = new AbortController();
  const report = reportUpstreams(gateway, stack === undefined ? () => undefined : out, reporting.signal);
  await stopped;
  reporting.abort();
  await report.catch(() => undefined);
  if (stack !== undefined) await forgetRunningDemo();
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

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** Which gateway a command talks to: said explicitly, else the demo started last, else the default port. */
async function gatewayBase(gatewayUrl: string | undefined, env: NodeJS.ProcessEnv): Promise<string> {
  const port = nonEmpty(env.PORT);
  const explicit = nonEmpty(gatewayUrl) ?? nonEmpty(env.MCP_GATEWAY_URL) ?? (port === undefined ? undefined : `http://127.0.0.1:${port}`);
  return (explicit ?? (await runningDemoUrl()) ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
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
  const response = await fetch(`${await gatewayBase(options.gateway, env)}/api/admin/revocations`, {
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
  const base = await gatewayBase(gatewayUrl, env);
  // Not silent: the token is only good for the gateway it came from (stdout carries the token alone).
  err(`dev-token: asking the demo gateway at ${base}`);
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
      port: { type: 'string', short: 'p' },
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
        return await start(values.config, values.port, env);
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
