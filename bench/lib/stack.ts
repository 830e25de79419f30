/**
 * The loopback components every benchmark runs against: the dev OIDC issuer, the four sample MCP
 * servers and the simulated Anthropic API, plus a gateway config pointing at them. Config inputs
 * stay plain JSON so a benchmark can hand them to a gateway in a child process.
 */
import { calculateJwkThumbprint, createLocalJWKSet, exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import { createGateway, type Gateway, type GatewayDependencies } from '../../src/app.js';
import { demoConfig } from '../../src/config/demo-profile.js';
import { parseConfig } from '../../src/config/load.js';
import type { GatewayConfig, GatewayConfigInput } from '../../src/config/schema.js';
import { DEV_CLIENT_ID, startDevIssuer, type DevIssuer } from '../../src/dev/dev-issuer.js';
import { closeSampleServers, startSampleServers, type SampleServers } from '../../src/dev/sample-servers/index.js';
import { startSimulatedAnthropic, type SimulatedAnthropicHandle } from '../../src/dev/sim-anthropic/index.js';

/** The `iss` of identity assertions in benchmarks; the sample servers trust only this issuer's key. */
export const BENCH_ASSERTION_ISSUER = 'https://gateway.bench';

/** Limits no benchmark should ever reach: rate limiting is measured nowhere here, only its cost. */
const UNLIMITED_TIER = { name: 'bench', roles: [], queriesPerHour: 10_000_000, requestsPerMinute: 100_000_000, tokensPerDay: 1_000_000_000_000 };

/** Where the stack listens, as plain JSON (it may live in another process). */
export interface StackEndpoints {
  issuerUrl: string;
  jwksUri: string;
  servers: Record<'hr' | 'finance' | 'sales' | 'support', string>;
  modelUrl: string;
  /** PKCS#8 PEM of the key the gateway signs identity assertions with; the sample servers trust it. */
  signingKeyPem: string;
}

export interface BenchStack {
  readonly issuer: DevIssuer;
  readonly servers: SampleServers;
  readonly model: SimulatedAnthropicHandle;
  readonly endpoints: StackEndpoints;
  close(): Promise<void>;
}

export interface BenchStackOptions {
  /** Simulated model pacing; 0 unless a benchmark needs runs that stay in flight. */
  firstTokenMs?: number;
  tokenDelayMs?: number;
}

export async function startBenchStack(options: BenchStackOptions = {}): Promise<BenchStack> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(publicKey);
  // The kid the gateway derives for its own key (its thumbprint), so the servers find it.
  const publicJwk = { ...jwk, alg: 'ES256', kid: await calculateJwkThumbprint(jwk) };
  const issuer = await startDevIssuer({ clientId: DEV_CLIENT_ID });
  const servers = await startSampleServers({ issuer: BENCH_ASSERTION_ISSUER, keys: createLocalJWKSet({ keys: [publicJwk] }) });
  const model = await startSimulatedAnthropic({ firstTokenMs: options.firstTokenMs ?? 0, tokenDelayMs: options.tokenDelayMs ?? 0 });
  return {
    issuer,
    servers,
    model,
    endpoints: {
      issuerUrl: issuer.issuerUrl,
      jwksUri: issuer.jwksUri,
      servers: { hr: servers.hr.url, finance: servers.finance.url, sales: servers.sales.url, support: servers.support.url },
      modelUrl: model.url,
      signingKeyPem: await exportPKCS8(privateKey),
    },
    async close() {
      await Promise.all([issuer.close(), closeSampleServers(servers), model.close()]);
    },
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Objects merge key by key; anything else (arrays included) in `overrides` replaces the base value. */
export function mergeConfig(base: unknown, overrides: unknown): unknown {
  if (overrides === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(overrides)) return overrides;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) merged[key] = mergeConfig(base[key], value);
  return merged;
}

/** The demo profile pointed at the stack: port 0, silent, memory store, no rate limit in reach. */
export function benchConfigInput(endpoints: StackEndpoints, overrides: Record<string, unknown> = {}): GatewayConfigInput {
  const base = demoConfig(
    {
      issuerUrl: endpoints.issuerUrl,
      jwksUri: endpoints.jwksUri,
      clientId: DEV_CLIENT_ID,
      servers: endpoints.servers,
      simulatedModelUrl: endpoints.modelUrl,
    },
    {},
  );
  const benchDefaults = {
    server: { port: 0 },
    logging: { level: 'silent', pretty: false },
    limits: { tiers: [UNLIMITED_TIER] },
    upstream: { assertion: { issuer: BENCH_ASSERTION_ISSUER, privateKeyPem: endpoints.signingKeyPem, algorithm: 'ES256' } },
  };
  return mergeConfig(mergeConfig(base, benchDefaults), overrides) as GatewayConfigInput;
}

export function benchConfig(endpoints: StackEndpoints, overrides: Record<string, unknown> = {}): GatewayConfig {
  return parseConfig(benchConfigInput(endpoints, overrides), {});
}

export interface RunningGateway {
  readonly gateway: Gateway;
  readonly url: string;
}

/** Builds and starts a gateway in this process; the caller closes `gateway`. */
export async function startGateway(config: GatewayConfig, deps: GatewayDependencies = {}): Promise<RunningGateway> {
  const gateway = await createGateway(config, deps);
  const url = await gateway.listen();
  return { gateway, url };
}

/** Waits until the gateway answers ready (JWKS fetched, store up), checking every 10 ms. */
export async function waitUntilReady(url: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await fetch(`${url}/health/ready`).then(
      async (response) => {
        await response.body?.cancel();
        return response.status;
      },
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`${url} not ready after ${timeoutMs} ms (last status ${status})`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
