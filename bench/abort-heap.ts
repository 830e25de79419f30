/**
 * Target 4: 1,000 aborted runs grow the heap by < 2 MB (after GC).
 *
 * In-process gateway on a memory store. Each run is started with POST /api/query and the client
 * hangs up right after the first frame; with `runs.detachGraceMs: 0` the gateway cancels the run at
 * once while the (slowed) simulated model is still thinking, so the abort path is what runs.
 * Run logs are kept until `runs.ttlMs` by design, so the heap is read twice: with the logs still
 * retained, and after they expired — the second figure is the leak measure.
 */
import { getHeapSpaceStatistics } from 'node:v8';
import { MemoryStore } from '../src/store/memory-store.js';
import { RunStore } from '../src/runs/run-store.js';
import type { Gateway } from '../src/app.js';
import { collectGarbage } from './lib/child.js';
import { runBenchmarks, runIfEntry } from './lib/main.js';
import { progress, sized, type BenchResult, type Benchmark } from './lib/report.js';
import { startRun } from './lib/sse-frames.js';
import { startRemoteStack } from './lib/remote-stack.js';
import { benchConfig, startGateway, waitUntilReady } from './lib/stack.js';
import { round, signed } from './lib/stats.js';

/**
 * As many warm-up runs as measured ones: after only 100, V8 is still compiling and optimising the
 * run path, and its code space alone grows by ~2 MB over the next 1,000 runs (seen in heap snapshots).
 */
const WARMUP_RUNS = sized(1_000, 100);
const RUNS = sized(1_000, 100);
const CONCURRENCY = 10;
const RUN_TTL_MS = 20_000;
const SWEEP_MS = 250;
const TARGET_MB = 2;
/** Long enough that every run is still waiting for the model when its reader hangs up. */
const MODEL_FIRST_TOKEN_MS = 300;

/** Starts a run, waits for its first frame, hangs up; resolves with the run id. */
async function startAndAbort(url: string, token: string): Promise<string> {
  const run = await startRun(url, token, 'list employees in Engineering', (frame) => frame.event === 'run');
  run.close();
  const runId = (run.frames[0]?.data as { runId?: string } | undefined)?.runId;
  if (runId === undefined) throw new Error('the run frame has no runId');
  return runId;
}

async function abortRuns(url: string, token: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next += 1;
      ids.push(await startAndAbort(url, token));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return ids;
}

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Every run cancelled end to end: no supervision, no open stream, no store subscription left. */
async function settled(gateway: Gateway, store: MemoryStore, idleHandlers: number): Promise<void> {
  await waitFor('runs to be cancelled', () => gateway.runs.activeCount === 0 && gateway.sse.size === 0 && store.handlerCount <= idleHandlers);
}

interface HeapReading {
  /** heapUsed, all spaces. */
  totalMb: number;
  /** Compiled code: grows while V8 optimises, whatever the gateway retains. */
  codeMb: number;
}

async function readHeap(): Promise<HeapReading> {
  await collectGarbage(6);
  const code = getHeapSpaceStatistics().find((space) => space.space_name === 'code_space')?.space_used_size ?? 0;
  return { totalMb: process.memoryUsage().heapUsed / 1_048_576, codeMb: code / 1_048_576 };
}

async function run(): Promise<BenchResult> {
  // The issuer, sample servers and model live in another process: only the gateway's heap is measured.
  const stack = await startRemoteStack({ firstTokenMs: MODEL_FIRST_TOKEN_MS });
  const config = benchConfig(stack.endpoints, { runs: { detachGraceMs: 0, ttlMs: RUN_TTL_MS, conversationTtlMs: RUN_TTL_MS } });
  // A fast sweep, so expired run logs leave the heap soon after their TTL rather than on the 10 s default.
  const store = new MemoryStore({ sweepIntervalMs: SWEEP_MS });
  const { gateway, url } = await startGateway(config, { store });
  const runStore = new RunStore(store, RUN_TTL_MS);
  try {
    await waitUntilReady(url);
    const token = await stack.tokenFor('alice.chen');
    // Subscriptions that exist with no run at all (revocation push channel).
    const idleHandlers = store.handlerCount;

    const warmupIds = await abortRuns(url, token, WARMUP_RUNS);
    await settled(gateway, store, idleHandlers);
    await waitFor('warm-up run logs to expire', async () => (await runStore.load(warmupIds.at(-1)!)) === undefined);
    await new Promise((resolve) => setTimeout(resolve, 2 * SWEEP_MS));
    const baseline = await readHeap();
    progress(`baseline heap ${round(baseline.totalMb, 2)} MB`);

    const started = performance.now();
    const ids = await abortRuns(url, token, RUNS);
    const abortSec = (performance.now() - started) / 1000;
    await settled(gateway, store, idleHandlers);
    const statuses = new Map<string, number>();
    for (const id of ids) {
      const status = (await runStore.load(id))?.status ?? 'expired before check';
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    const retained = await readHeap();
    progress(`after ${RUNS} aborted runs (logs retained): ${round(retained.totalMb, 2)} MB; statuses ${JSON.stringify(Object.fromEntries(statuses))}`);

    await waitFor('run logs to expire', async () => (await runStore.load(ids.at(-1)!)) === undefined, RUN_TTL_MS + 30_000);
    await new Promise((resolve) => setTimeout(resolve, 2 * SWEEP_MS));
    const expired = await readHeap();
    const growth = round(expired.totalMb - baseline.totalMb, 3);
    progress(`after the logs expired: ${round(expired.totalMb, 2)} MB (growth ${growth} MB)`);
    return {
      name: 'abort-heap',
      target: `${RUNS} aborted runs grow the heap by < ${TARGET_MB} MB after GC`,
      measured: `${signed(growth)} MB once their logs expired (${signed(round(retained.totalMb - baseline.totalMb, 2))} MB while the logs are retained by design)`,
      met: growth < TARGET_MB && (statuses.get('cancelled') ?? 0) === RUNS,
      details: {
        method: `in-process gateway, memory store, ${CONCURRENCY} clients in parallel, hang-up after the first frame, detachGraceMs 0, runs.ttlMs ${RUN_TTL_MS} ms; heapUsed after 6 × gc(); warm-up ${WARMUP_RUNS} runs`,
        baselineHeapMb: round(baseline.totalMb, 3),
        retainedHeapMb: round(retained.totalMb, 3),
        retainedPerRunKb: round(((retained.totalMb - baseline.totalMb) * 1024) / RUNS, 2),
        expiredHeapMb: round(expired.totalMb, 3),
        growthMb: growth,
        growthOutsideCodeSpaceMb: round(expired.totalMb - expired.codeMb - (baseline.totalMb - baseline.codeMb), 3),
        codeSpaceGrowthMb: round(expired.codeMb - baseline.codeMb, 3),
        runStatuses: Object.fromEntries(statuses),
        storeHandlersLeft: store.handlerCount - idleHandlers,
        abortPhaseSec: round(abortSec, 2),
      },
    };
  } finally {
    await gateway.close();
    await store.close();
    await stack.stop();
  }
}

export const abortHeap: Benchmark = { name: 'abort-heap', description: 'heap growth over 1,000 aborted runs', run };

runIfEntry(import.meta.url, () => runBenchmarks([abortHeap]));
