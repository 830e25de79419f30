/**
 * Starts everything the embedded demo needs on loopback: the dev OIDC issuer, the four sample MCP
 * servers and (without ANTHROPIC_API_KEY) the simulated Anthropic API.
 */
import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import type { DemoEndpoints } from '../config/demo-profile.js';
import { DEV_CLIENT_ID, startDevIssuer, type DevIssuer } from './dev-issuer.js';
import { startSampleServer } from './sample-servers/index.js';
import { startSimulatedAnthropic, type SimulatedAnthropicHandle } from './sim-anthropic/index.js';

export interface DemoStack {
  readonly endpoints: DemoEndpoints;
  readonly issuer: DevIssuer;
  readonly model: SimulatedAnthropicHandle | undefined;
  close(): Promise<void>;
}

/** The demo services, each on a free port unless its environment variable names one. */
export const DEMO_PORT_VARIABLES = {
  issuer: 'DEMO_ISSUER_PORT',
  hr: 'DEMO_HR_PORT',
  finance: 'DEMO_FINANCE_PORT',
  sales: 'DEMO_SALES_PORT',
  support: 'DEMO_SUPPORT_PORT',
  model: 'DEMO_MODEL_PORT',
} as const;

export type DemoService = keyof typeof DEMO_PORT_VARIABLES;
export type DemoPorts = Partial<Record<DemoService, number>>;

/** Reads DEMO_*_PORT; a value that is not a port is refused with the variable's name. */
export function demoPortsFromEnv(env: NodeJS.ProcessEnv): DemoPorts {
  const ports: DemoPorts = {};
  for (const [service, variable] of Object.entries(DEMO_PORT_VARIABLES) as Array<[DemoService, string]>) {
    const raw = env[variable];
    if (raw === undefined || raw.trim() === '') continue;
    const port = Number(raw);
    if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`${variable} must be a port number (0-65535), got "${raw}"`);
    ports[service] = port;
  }
  return ports;
}

/** A demo service could not listen: names the service and its port so the fix is obvious. */
export class DemoPortError extends Error {
  constructor(service: DemoService, port: number | undefined, cause: unknown) {
    const where = port === undefined || port === 0 ? 'a free port' : `port ${port}`;
    super(`the demo ${service === 'issuer' || service === 'model' ? service : `${service} server`} cannot listen on ${where} (${cause instanceof Error ? cause.message : String(cause)}); set ${DEMO_PORT_VARIABLES[service]} to another port`, { cause });
  }
}

export interface DemoStackOptions {
  /** The gateway's public URL: the sample servers trust assertions it signs, fetched from its JWKS. */
  gatewayUrl: string;
  useRealModel: boolean;
  /** Simulated model pacing (the demo reads like a model typing; tests use 0). */
  firstTokenMs?: number;
  tokenDelayMs?: number;
  /** Fixed ports for the demo services (default: free ports). */
  ports?: DemoPorts;
}

/** The sample servers fetch the gateway's JWKS only when the first call arrives, after the gateway listens. */
export function lazyRemoteKeys(jwksUrl: string): JWTVerifyGetKey {
  let remote: JWTVerifyGetKey | undefined;
  return (header, token) => {
    remote ??= createRemoteJWKSet(new URL(jwksUrl));
    return remote(header, token);
  };
}

export async function startDemoStack(options: DemoStackOptions): Promise<DemoStack> {
  const ports = options.ports ?? {};
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async (): Promise<void> => {
    await Promise.allSettled(closers.map((close) => close()));
  };
  /** Starts one service; if it cannot, stops the ones already started and says which port failed. */
  const started = async <T extends { close(): Promise<void> }>(service: DemoService, start: () => Promise<T>): Promise<T> => {
    try {
      const handle = await start();
      closers.push(() => handle.close());
      return handle;
    } catch (error) {
      await closeAll();
      throw new DemoPortError(service, ports[service], error);
    }
  };
  const issuer = await started('issuer', () => startDevIssuer({ clientId: DEV_CLIENT_ID, port: ports.issuer }));
  const common = { issuer: options.gatewayUrl, keys: lazyRemoteKeys(`${options.gatewayUrl}/.well-known/jwks.json`) };
  const servers = {
    hr: await started('hr', () => startSampleServer('hr', { ...common, port: ports.hr })),
    finance: await started('finance', () => startSampleServer('finance', { ...common, port: ports.finance })),
    sales: await started('sales', () => startSampleServer('sales', { ...common, port: ports.sales })),
    support: await started('support', () => startSampleServer('support', { ...common, port: ports.support })),
  };
  const model = options.useRealModel
    ? undefined
    : await started('model', () => startSimulatedAnthropic({ port: ports.model, firstTokenMs: options.firstTokenMs, tokenDelayMs: options.tokenDelayMs }));
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
    close: closeAll,
  };
}
