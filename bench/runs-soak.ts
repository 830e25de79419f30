/**
 * Memory soak (issue 13): a gateway child on the memory store at default settings finishes 10,000
 * agent runs; its heap after GC is compared with the heap after the warm-up runs. The stack and the
 * client run in children of their own, so only the gateway's memory is read.
 */
import { Child } from './lib/child.js';
import { GatewayChild } from './lib/gateway-child.js';
import { runBenchmarks, runIfEntry } from './lib/main.js';
import { raiseOpenFilesLimit } from './lib/proc.js';
import { startRemoteStack } from './lib/remote-stack.js';
import { atMost, progress, sized, type BenchResult, type Benchmark } from './lib/report.js';
import { benchConfigInput } from './lib/stack.js';
import { round } from './lib/stats.js';
import type { RunsLoadRequest, RunsLoadResult } from './procs/runs-load.js';
import { RUN_QUERY, RUN_USER } from './runs.js';

const WARMUP_RUNS = sized(1_000, 100);
const SOAK_RUNS = sized(10_000, 500);
const CONCURRENCY = 50;
const TARGET_MB = 30;

const mb = (bytes: number): number => round(bytes / 1_048_576, 1);

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
}

async function run(): Promise<BenchResult> {
  const stack = await startRemoteStack();
  const client = Child.start(new URL('./procs/runs-load.ts', import.meta.url));
  let gateway: GatewayChild | undefined;
  try {
    gateway = await GatewayChild.start(benchConfigInput(stack.endpoints));
    await raiseOpenFilesLimit(client.pid);
    const token = await stack.tokenFor(RUN_USER);
    const load = (runs: number): Promise<RunsLoadResult> => client.request<RunsLoadResult>({ url: gateway!.url, token, query: RUN_QUERY, runs, concurrency: CONCURRENCY } satisfies RunsLoadRequest, 800_000);
    await load(WARMUP_RUNS);
    const before = await gateway.memory();
    const started = performance.now();
    const soak = await load(SOAK_RUNS);
    // Journals are forgotten once written out; give the last ones their moment.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const after = await gateway.memory();
    const evicted = await metric(gateway.url, 'gateway_runs_evicted_total');
    const growthMb = mb(after.heapUsedBytes - before.heapUsedBytes);
    const perRunKb = round((after.heapUsedBytes - before.heapUsedBytes) / soak.completed / 1024, 2);
    progress(`${soak.completed} runs in ${round((performance.now() - started) / 1000, 1)} s; heap ${mb(before.heapUsedBytes)} → ${mb(after.heapUsedBytes)} MB (${perRunKb} KB per run), ${evicted} evicted`);
    if (soak.failed > 0) throw new Error(`${soak.failed} runs failed: ${soak.failures.join('; ')}`);
    const figure = atMost(`heap growth over ${SOAK_RUNS.toLocaleString('en')} finished runs, memory store, default settings`, growthMb, TARGET_MB, 'MB');
    return {
      name: 'runs-soak',
      target: `heap after ${SOAK_RUNS.toLocaleString('en')} finished runs grows < ${TARGET_MB} MB (memory store, default settings)`,
      measured: `+${growthMb} MB (${perRunKb} KB per retained run)`,
      met: figure.met,
      figures: [figure],
      details: {
        method: `gateway child on the memory store at default settings (runs.ttlMs 1 h, runs.maxFinishedRuns 2,000, runs.maxConversations 1,000, conversations 24 h); ${WARMUP_RUNS} warm-up runs, then ${SOAK_RUNS} runs at ${CONCURRENCY} concurrent; heapUsed after GC`,
        runs: soak.completed,
        runsPerSecond: round(soak.runsPerSecond, 1),
        heapUsedMb: { before: mb(before.heapUsedBytes), after: mb(after.heapUsedBytes) },
        rssMb: { before: mb(before.rssBytes), after: mb(after.rssBytes) },
        perRunKb,
        evictedRuns: evicted,
      },
    };
  } finally {
    await client.stop();
    await gateway?.stop();
    await stack.stop();
  }
}

export const runsSoak: Benchmark = { name: 'runs-soak', description: 'heap after 10,000 finished runs on the memory store', run };

runIfEntry(import.meta.url, () => runBenchmarks([runsSoak]));
