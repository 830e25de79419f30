/**
 * Proxied tool call vs calling the upstream directly (issue 13): hr/list_employees on the sample
 * server with the official MCP client carrying the gateway's own identity assertion for the same
 * user, and through POST /api/tools/hr/list_employees. The gateway runs in a child of its own (its
 * CPU time is read around every gateway block), the sample servers in this process, the client in
 * another child. Interleaved rounds, the order alternating: sequential blocks give the latency ratio
 * and the gateway's CPU per call; concurrent blocks give calls/s on each path.
 */
import { Child } from './lib/child.js';
import { GatewayChild } from './lib/gateway-child.js';
import { runBenchmarks, runIfEntry } from './lib/main.js';
import { summarizeProfile } from './lib/profile-summary.js';
import { atLeast, atMost, progress, sized, type BenchResult, type Benchmark } from './lib/report.js';
import { benchConfigInput, startBenchStack } from './lib/stack.js';
import { median, round } from './lib/stats.js';
import type { ConcurrentResult, SequentialResult, ToolCallsRequest, ToolPath } from './procs/tool-calls.js';

const WARMUP_CALLS = sized(500, 50);
const ROUNDS = sized(5, 2);
const BLOCK_CALLS = sized(300, 50);
const CONCURRENCY = 16;
const CONCURRENT_SEC = sized(3, 1);
const TARGETS = { cpuMsPerCall: 0.3, p50Ratio: 1.15, callsPerSecond: 2_000 };

async function run(): Promise<BenchResult> {
  const stack = await startBenchStack();
  const gateway = await GatewayChild.start(benchConfigInput(stack.endpoints));
  const client = Child.start(new URL('./procs/tool-calls.ts', import.meta.url));
  const ask = <T>(message: ToolCallsRequest): Promise<T> => client.request<T>(message, 120_000);
  try {
    const token = await stack.issuer.tokenFor('alice.chen');
    const assertion = await gateway.request<string>({ kind: 'assertion', token, server: 'hr' });
    await ask({ kind: 'setup', directUrl: stack.servers.hr.url, assertion, gatewayUrl: gateway.url, token });
    for (const path of ['direct', 'gateway'] as const) await ask({ kind: 'sequential', path, calls: WARMUP_CALLS });

    const rounds: Array<{ p50: Record<ToolPath, number>; cpuMsPerCall: number; callsPerSecond: Record<ToolPath, number>; cpuMsPerCallConcurrent: number }> = [];
    const rows: Record<ToolPath, number> = { direct: 0, gateway: 0 };
    let p99: Record<ToolPath, number[]> = { direct: [], gateway: [] };
    for (let index = 0; index < ROUNDS; index++) {
      const order: ToolPath[] = index % 2 === 0 ? ['direct', 'gateway'] : ['gateway', 'direct'];
      const p50 = { direct: 0, gateway: 0 };
      const callsPerSecond = { direct: 0, gateway: 0 };
      let cpuMsPerCall = 0;
      let cpuMsPerCallConcurrent = 0;
      for (const path of order) {
        const before = await gateway.cpuMs();
        const sequential = await ask<SequentialResult>({ kind: 'sequential', path, calls: BLOCK_CALLS });
        const afterSequential = await gateway.cpuMs();
        const concurrent = await ask<ConcurrentResult>({ kind: 'concurrent', path, concurrency: CONCURRENCY, seconds: CONCURRENT_SEC });
        const afterConcurrent = await gateway.cpuMs();
        p50[path] = sequential.latency.p50Ms;
        p99 = { ...p99, [path]: [...p99[path], sequential.latency.p99Ms] };
        rows[path] = sequential.rows;
        callsPerSecond[path] = concurrent.callsPerSecond;
        if (path === 'gateway') {
          cpuMsPerCall = (afterSequential - before) / BLOCK_CALLS;
          cpuMsPerCallConcurrent = (afterConcurrent - afterSequential) / concurrent.calls;
        }
      }
      rounds.push({ p50, cpuMsPerCall, callsPerSecond, cpuMsPerCallConcurrent });
      progress(
        `round ${index + 1}: p50 direct ${p50.direct} / gateway ${p50.gateway} ms; gateway CPU ${round(cpuMsPerCall)} ms/call (${round(cpuMsPerCallConcurrent)} under load); calls/s direct ${Math.round(callsPerSecond.direct)} / gateway ${Math.round(callsPerSecond.gateway)}`,
      );
    }
    if (rows.direct !== rows.gateway) throw new Error(`direct call listed ${rows.direct} rows, the gateway ${rows.gateway}`);

    // A CPU profile of the gateway over one more concurrent gateway block: what dominates.
    await gateway.profileStart();
    await ask<ConcurrentResult>({ kind: 'concurrent', path: 'gateway', concurrency: CONCURRENCY, seconds: CONCURRENT_SEC });
    const profile = summarizeProfile(await gateway.profileStop(), 15);

    const medianOf = (values: number[], digits = 3): number => round(median(values), digits);
    const p50Ratio = medianOf(rounds.map((entry) => entry.p50.gateway / entry.p50.direct), 2);
    const cpuMsPerCall = medianOf(rounds.map((entry) => entry.cpuMsPerCall));
    const cpuMsPerCallConcurrent = medianOf(rounds.map((entry) => entry.cpuMsPerCallConcurrent));
    const callsPerSecond = { direct: Math.round(median(rounds.map((entry) => entry.callsPerSecond.direct))), gateway: Math.round(median(rounds.map((entry) => entry.callsPerSecond.gateway))) };
    const figures = [
      atMost('gateway CPU per proxied call (sequential)', cpuMsPerCall, TARGETS.cpuMsPerCall, 'ms'),
      atMost(`gateway CPU per proxied call (${CONCURRENCY} concurrent)`, cpuMsPerCallConcurrent, TARGETS.cpuMsPerCall, 'ms'),
      atMost('p50 gateway ÷ direct', p50Ratio, TARGETS.p50Ratio, '×'),
      atLeast(`proxied calls/s (${CONCURRENCY} concurrent)`, callsPerSecond.gateway, TARGETS.callsPerSecond, 'calls/s'),
    ];
    return {
      name: 'tool-call',
      target: `gateway CPU ≤ ${TARGETS.cpuMsPerCall} ms per call, p50 ≤ ${TARGETS.p50Ratio}× direct, ≥ ${TARGETS.callsPerSecond.toLocaleString('en')} calls/s`,
      measured: `${cpuMsPerCall} ms CPU per call, p50 ${p50Ratio}× direct, ${callsPerSecond.gateway} calls/s (direct ${callsPerSecond.direct})`,
      met: figures.every((figure) => figure.met),
      figures,
      details: {
        method: `gateway in a child (CPU from process.cpuUsage around each block), sample servers here, client child; ${ROUNDS} interleaved rounds of ${BLOCK_CALLS} sequential calls then ${CONCURRENT_SEC} s at ${CONCURRENCY} concurrent per path after ${WARMUP_CALLS} warm-up calls each; medians of the rounds`,
        p50Ms: { direct: medianOf(rounds.map((entry) => entry.p50.direct)), gateway: medianOf(rounds.map((entry) => entry.p50.gateway)) },
        p99Ms: { direct: medianOf(p99.direct), gateway: medianOf(p99.gateway) },
        callsPerSecond,
        rowsPerCall: rows.direct,
        rounds,
        gatewayProfile: profile.split('\n'),
      },
    };
  } finally {
    await ask({ kind: 'close' }).catch(() => undefined);
    await client.stop();
    await gateway.stop();
    await stack.close();
  }
}

export const toolCall: Benchmark = { name: 'tool-call', description: 'proxied vs direct MCP tool call: CPU per call, p50 ratio, calls/s', run };

runIfEntry(import.meta.url, () => runBenchmarks([toolCall]));
