/**
 * The four sample MCP servers of the embedded demo (hr, finance, sales, support): official SDK v2,
 * Streamable HTTP at `/mcp`, trusting only the gateway's signed identity assertion.
 */
import { SAMPLE_SERVER_NAMES, type SampleServerName } from './caller.js';
import { startSampleServer, type SampleServerHandle, type SampleServerOptions } from './server.js';

export { SAMPLE_SERVER_NAMES, type Caller, type SampleServerName } from './caller.js';
export type { SampleDataViews } from './domains.js';
export type { FaultStatus } from './faults.js';
export { MCP_PATH, startSampleServer, type SampleServerControls, type SampleServerHandle, type SampleServerOptions } from './server.js';
export type { ToolPatch } from './tools.js';

export type SampleServers = { readonly [N in SampleServerName]: SampleServerHandle<N> };

export interface SampleServersOptions extends Omit<SampleServerOptions, 'port'> {
  /** Fixed ports per server; the others take any free port. */
  ports?: Partial<Record<SampleServerName, number>>;
}

/** Starts all four servers; if one fails to start, the ones already running are closed. */
export async function startSampleServers(options: SampleServersOptions): Promise<SampleServers> {
  const { ports, ...common } = options;
  const started: SampleServerHandle[] = [];
  const start = async <N extends SampleServerName>(name: N): Promise<SampleServerHandle<N>> => {
    const handle = await startSampleServer(name, { ...common, port: ports?.[name] ?? 0 });
    started.push(handle);
    return handle;
  };
  try {
    return { hr: await start('hr'), finance: await start('finance'), sales: await start('sales'), support: await start('support') };
  } catch (error) {
    await Promise.allSettled(started.map((handle) => handle.close()));
    throw error;
  }
}

export async function closeSampleServers(servers: SampleServers): Promise<void> {
  await Promise.all(SAMPLE_SERVER_NAMES.map((name) => servers[name].close()));
}
