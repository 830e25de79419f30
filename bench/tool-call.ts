/**
 * Target 6: a proxied tool call costs < 1 ms over calling the upstream MCP server directly.
 *
 * A client child calls hr/list_employees on the sample server (official MCP client, the gateway's
 * identity assertion for the same user) and through the gateway's POST /api/tools/hr/list_employees;
 * the gateway and the sample server both run here, so the process layout is the same for both paths.
 */
import { TokenVerifier } from '../src/auth/token-verifier.js';
import { Child } from './lib/child.js';
import { runBenchmarks, runIfEntry } from './lib/main.js';
import { progress, type BenchResult, type Benchmark } from './lib/report.js';
import { benchConfig, startBenchStack, startGateway, waitUntilReady } from './lib/stack.js';
import { round, signed } from './lib/stats.js';
import type { ToolCallsRequest, ToolCallsResult } from './procs/tool-calls.js';

const WARMUP_CALLS = 300;
const BLOCKS = 10;
const BLOCK_SIZE = 200;
const TARGET_MS = 1;

async function run(): Promise<BenchResult> {
  const stack = await startBenchStack();
  const config = benchConfig(stack.endpoints);
  const { gateway, url } = await startGateway(config);
  const client = Child.start(new URL('./procs/tool-calls.ts', import.meta.url));
  try {
    await waitUntilReady(url);
    const token = await stack.issuer.tokenFor('alice.chen');
    // The very assertion the gateway itself sends upstream for this user (it caches one per user and server).
    const identity = await new TokenVerifier(config.auth).verify(token);
    const assertion = await gateway.signer.assertionFor(identity, 'hr');
    const request: ToolCallsRequest = {
      directUrl: stack.servers.hr.url,
      assertion,
      gatewayUrl: url,
      token,
      warmupCalls: WARMUP_CALLS,
      blocks: BLOCKS,
      blockSize: BLOCK_SIZE,
    };
    const result = await client.request<ToolCallsResult>(request);
    if (result.rows.direct !== result.rows.gateway) throw new Error(`direct call listed ${result.rows.direct} rows, the gateway ${result.rows.gateway}`);
    const p50 = round(result.gateway.p50Ms - result.direct.p50Ms);
    const p99 = round(result.gateway.p99Ms - result.direct.p99Ms);
    progress(`direct p50 ${result.direct.p50Ms} ms / p99 ${result.direct.p99Ms} ms; gateway p50 ${result.gateway.p50Ms} ms / p99 ${result.gateway.p99Ms} ms`);
    return {
      name: 'tool-call',
      target: `proxied tool call < ${TARGET_MS} ms over a direct call`,
      measured: `${signed(p50)} ms at p50, ${signed(p99)} ms at p99 (gateway p50 ${result.gateway.p50Ms} ms vs direct ${result.direct.p50Ms} ms)`,
      met: p50 < TARGET_MS,
      details: {
        method: `client child, sequential calls, ${BLOCKS} alternating blocks of ${BLOCK_SIZE} per path after ${WARMUP_CALLS} warm-up calls each; gateway and sample server in this process`,
        direct: result.direct,
        gateway: result.gateway,
        p50DifferenceMs: p50,
        p99DifferenceMs: p99,
        rowsPerCall: result.rows.direct,
      },
    };
  } finally {
    await client.stop();
    await gateway.close();
    await stack.close();
  }
}

export const toolCall: Benchmark = { name: 'tool-call', description: 'proxied vs direct MCP tool call', run };

runIfEntry(import.meta.url, () => runBenchmarks([toolCall]));
