/**
 * Starts everything the embedded demo needs on loopback: the dev OIDC issuer, the four sample MCP
 * servers and (without ANTHROPIC_API_KEY) the simulated Anthropic API.
 */
import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import type { DemoEndpoints } from '../config/demo-profile.js';
import { DEV_CLIENT_ID, startDevIssuer, type DevIssuer } from './dev-issuer.js';
import { startSampleServers } from './sample-servers/index.js';
import { startSimulatedAnthropic, type SimulatedAnthropicHandle } from './sim-anthropic/index.js';

export interface DemoStack {
  readonly endpoints: DemoEndpoints;
  readonly issuer: DevIssuer;
  readonly model: SimulatedAnthropicHandle | undefined;
  close(): Promise<void>;
}

export interface DemoStackOptions {
  /** The gateway's public URL: the sample servers trust assertions it signs, fetched from its JWKS. */
  gatewayUrl: string;
  useRealModel: boolean;
  /** Simulated model pacing (the demo reads like a model typing; tests use 0). */
  firstTokenMs?: number;
  tokenDelayMs?: number;
}

/** The sample servers fetch the gateway's JWKS only when the first call arrives, after the gateway listens. */
function lazyRemoteKeys(jwksUrl: string): JWTVerifyGetKey {
  let remote: JWTVerifyGetKey | undefined;
  return (header, token) => {
    remote ??= createRemoteJWKSet(new URL(jwksUrl));
    return remote(header, token);
  };
}

export async function startDemoStack(options: DemoStackOptions): Promise<DemoStack> {
  const issuer = await startDevIssuer({ clientId: DEV_CLIENT_ID });
  const servers = await startSampleServers({
    issuer: options.gatewayUrl,
    keys: lazyRemoteKeys(`${options.gatewayUrl}/.well-known/jwks.json`),
  });
  const model = options.useRealModel
    ? undefined
    : await startSimulatedAnthropic({ firstTokenMs: options.firstTokenMs, tokenDelayMs: options.tokenDelayMs });
  return {
    issuer,
    model,
    endpoints: {
      issuerUrl: issuer.issuerUrl,
      jwksUri: issuer.jwksUri,
      clientId: DEV_CLIENT_ID,
      servers: { hr: servers.hr.url, finance: servers.finance.url, sales: servers.sales.url, support: servers.support.url },
      simulatedModelUrl: model?.url,
    },
    async close() {
      await Promise.all([issuer.close(), ...Object.values(servers).map((server) => server.close()), model?.close()]);
    },
  };
}
