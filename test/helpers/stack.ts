/**
 * The real components integration tests run against, started once per test file: the dev OIDC
 * issuer, the four sample MCP servers, the simulated Anthropic API — and gateways built on them.
 */
import { calculateJwkThumbprint, createLocalJWKSet, exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import { createGateway, type Gateway, type GatewayDependencies } from '../../src/app.js';
import { demoConfig } from '../../src/config/demo-profile.js';
import { parseConfig } from '../../src/config/load.js';
import type { GatewayConfig, GatewayConfigInput } from '../../src/config/schema.js';
import { DEV_CLIENT_ID, startDevIssuer, type DevIssuer } from '../../src/dev/dev-issuer.js';
import { startSampleServers, closeSampleServers, type SampleServers, type SampleServersOptions } from '../../src/dev/sample-servers/index.js';
import { startSimulatedAnthropic, type SimulatedAnthropicHandle } from '../../src/dev/sim-anthropic/index.js';
import { uniquePrefix } from './redis.js';

/** The identity assertions' issuer in tests; every gateway of a stack shares one signing key, as replicas do. */
export const TEST_ASSERTION_ISSUER = 'https://gateway.test';

export interface TestStack {
  readonly issuer: DevIssuer;
  readonly servers: SampleServers;
  readonly model: SimulatedAnthropicHandle;
  readonly signingKeyPem: string;
  /** What the stack's sample servers were started with, for tests that start (and stop) their own. */
  readonly sampleServerOptions: SampleServersOptions;
  close(): Promise<void>;
}

export async function startTestStack(options: { firstTokenMs?: number; tokenDelayMs?: number } = {}): Promise<TestStack> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(publicKey);
  // The same kid the gateway derives for its published JWKS (the key's thumbprint).
  const publicJwk = { ...jwk, alg: 'ES256', kid: await calculateJwkThumbprint(jwk) };
  const signingKeyPem = await exportPKCS8(privateKey);
  const issuer = await startDevIssuer({ clientId: DEV_CLIENT_ID });
  const sampleServerOptions: SampleServersOptions = { issuer: TEST_ASSERTION_ISSUER, keys: createLocalJWKSet({ keys: [publicJwk] }) };
  const servers = await startSampleServers(sampleServerOptions);
  const model = await startSimulatedAnthropic({ firstTokenMs: options.firstTokenMs ?? 0, tokenDelayMs: options.tokenDelayMs ?? 0 });
  return {
    issuer,
    servers,
    model,
    signingKeyPem,
    sampleServerOptions,
    async close() {
      await Promise.all([issuer.close(), closeSampleServers(servers), model.close()]);
    },
  };
}

type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;
export type ConfigOverrides = DeepPartial<GatewayConfigInput>;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function deepMerge(base: unknown, overrides: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(overrides)) return overrides === undefined ? base : overrides;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) merged[key] = deepMerge(base[key], value);
  return merged;
}

/** The demo profile pointed at this stack, on port 0, quiet, with the stack's signing key. */
export function testConfig(stack: TestStack, overrides: ConfigOverrides = {}): GatewayConfig {
  const base = demoConfig(
    {
      issuerUrl: stack.issuer.issuerUrl,
      jwksUri: stack.issuer.jwksUri,
      clientId: DEV_CLIENT_ID,
      servers: { hr: stack.servers.hr.url, finance: stack.servers.finance.url, sales: stack.servers.sales.url, support: stack.servers.support.url },
      simulatedModelUrl: stack.model.url,
    },
    {},
  );
  const testDefaults: ConfigOverrides = {
    server: { port: 0 },
    logging: { level: (process.env.TEST_LOG_LEVEL ?? 'silent') as 'silent', pretty: false },
    upstream: { assertion: { issuer: TEST_ASSERTION_ISSUER, privateKeyPem: stack.signingKeyPem, algorithm: 'ES256' } },
  };
  return parseConfig(deepMerge(deepMerge(base, testDefaults), overrides), {});
}

/**
 * A gateway configuration around the dev issuer alone (no sample servers, no model unless given):
 * loopback on a free port, quiet logs, the memory store; the rest (servers, llm, limits) is the caller's,
 * given in layers merged in order.
 */
export function issuerOnlyConfig(issuer: DevIssuer, ...layers: ConfigOverrides[]): GatewayConfig {
  const base: ConfigOverrides = {
    server: { host: '127.0.0.1', port: 0 },
    logging: { level: (process.env.TEST_LOG_LEVEL ?? 'silent') as 'silent', pretty: false },
    auth: { issuers: [issuer.issuerUrl], jwksUri: issuer.jwksUri, clientId: DEV_CLIENT_ID },
    store: { driver: 'memory' },
  };
  return parseConfig(
    layers.reduce<unknown>((merged, layer) => deepMerge(merged, layer), base),
    {},
  );
}

/** A Redis store section for the shared test Redis, under a prefix no other test file uses. */
export function redisStore(name: string, url = process.env.TEST_REDIS_URL): ConfigOverrides['store'] {
  if (url === undefined) throw new Error('TEST_REDIS_URL is not set (global setup did not run?)');
  return { driver: 'redis', url, keyPrefix: uniquePrefix(name) };
}

export interface RunningGateway {
  readonly gateway: Gateway;
  readonly url: string;
  close(): Promise<void>;
}

export async function startGateway(config: GatewayConfig, deps: GatewayDependencies = {}): Promise<RunningGateway> {
  const gateway = await createGateway(config, deps);
  const url = await gateway.listen();
  return { gateway, url, close: () => gateway.close() };
}

/** fetch with a bearer token and JSON body, returning status, headers and parsed JSON. */
export async function api(
  url: string,
  options: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] ??= 'application/json';
  const response = await fetch(url, {
    method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
    headers,
    body: options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    // Not JSON: leave the text for the assertion to inspect.
  }
  return { status: response.status, headers: response.headers, body };
}

/** Waits until `condition` holds, checking every `intervalMs`, failing after `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, { timeoutMs = 5_000, intervalMs = 20, what = 'condition' } = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
