/**
 * ≥ 10,000 concurrent idle SSE streams per instance at ≤ 22 KB RSS each (issue 13; 50 KB before).
 *
 * The gateway runs in a child process of its own; another child opens N streams on one paused run
 * (awaiting confirmation) with GET /api/runs/:id/events, resuming after its last event so every
 * stream sits idle. Per-stream memory = (after − before) / N, read in the gateway after GC.
 */
import { Child } from './lib/child.js';
import { runBenchmarks, runIfEntry } from './lib/main.js';
import { cpuSeconds, raiseOpenFilesLimit } from './lib/proc.js';
import { atLeast, atMost, progress, sized, type BenchResult, type Benchmark } from './lib/report.js';
import { startRun } from './lib/sse-frames.js';
import { benchConfigInput, startBenchStack, waitUntilReady } from './lib/stack.js';
import { round } from './lib/stats.js';
import type { GatewayMemory, GatewayRequest } from './procs/gateway.js';
import type { OpenResult, StreamsRequest } from './procs/sse-streams.js';

const STREAMS = sized(10_000, 1_000);
const WARMUP_STREAMS = sized(500, 100);
const OPEN_CONCURRENCY = 100;
const IDLE_SAMPLE_SEC = sized(5, 2);
const TARGET_KB = 22;
/** Sockets each process needs besides the streams (stack connections, stdio, IPC, ...). */
const FD_MARGIN = 200;

async function waitForStreams(gateway: Child, count: number, timeoutMs = 60_000): Promise<GatewayMemory> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const memory = await gateway.request<GatewayMemory>({ kind: 'memory' } satisfies GatewayRequest);
    if (memory.openStreams === count) return memory;
    if (Date.now() > deadline) throw new Error(`gateway holds ${memory.openStreams} streams, expected ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function run(): Promise<BenchResult> {
  const stack = await startBenchStack();
  const gateway = Child.start(new URL('./procs/gateway.ts', import.meta.url));
  const client = Child.start(new URL('./procs/sse-streams.ts', import.meta.url));
  let pausedRun: { close(): void } | undefined;
  try {
    // The paused run must outlive the benchmark: no detach cancellation, no confirmation expiry.
    const config = benchConfigInput(stack.endpoints, { runs: { detachGraceMs: 600_000 }, confirmations: { ttlMs: 1_800_000 } });
    const url = await gateway.request<string>({ kind: 'start', config } satisfies GatewayRequest);
    await waitUntilReady(url);
    const fdLimit = Math.min(await raiseOpenFilesLimit(gateway.pid), await raiseOpenFilesLimit(client.pid));
    const streams = Math.min(STREAMS, fdLimit - FD_MARGIN);
    if (streams < STREAMS) progress(`open-files limit ${fdLimit}: trying ${streams} streams`);

    const token = await stack.issuer.tokenFor('alice.chen');
    const paused = await startRun(url, token, 'delete employee E-1042', (frame) => frame.event === 'confirmation_required' || frame.event === 'done');
    pausedRun = paused;
    const last = paused.frames.at(-1);
    const runId = (paused.frames[0]?.data as { runId?: string } | undefined)?.runId;
    if (last?.event !== 'confirmation_required' || last.id === undefined || runId === undefined) throw new Error('the run did not pause for confirmation');
    const open = (count: number): Promise<OpenResult> =>
      client.request<OpenResult>({ kind: 'open', url, token, runId, lastEventId: last.id!, count, concurrency: OPEN_CONCURRENCY } satisfies StreamsRequest);

    // Warm-up: the stream path compiled and the pools grown before the baseline is read.
    await open(WARMUP_STREAMS);
    await client.request({ kind: 'close' } satisfies StreamsRequest);
    const before = await waitForStreams(gateway, 1);

    const opened = await open(streams);
    progress(`opened ${opened.opened} streams in ${round(opened.seconds, 1)} s (${opened.failed} failed${opened.failures.length > 0 ? `: ${opened.failures.join('; ')}` : ''})`);
    const after = await waitForStreams(gateway, opened.opened + 1);
    const cpuStart = await cpuSeconds(gateway.pid);
    await new Promise((resolve) => setTimeout(resolve, IDLE_SAMPLE_SEC * 1000));
    const idleCpuPercent = round((100 * ((await cpuSeconds(gateway.pid)) - cpuStart)) / IDLE_SAMPLE_SEC, 1);
    const status = await client.request<{ open: number; dropped: number }>({ kind: 'status' } satisfies StreamsRequest);

    const n = opened.opened;
    const perStream = (key: keyof GatewayMemory): number => round((after[key] - before[key]) / n / 1024, 2);
    const rssKb = perStream('rssBytes');
    progress(`per stream: ${rssKb} KB RSS, ${perStream('heapUsedBytes')} KB heap; gateway idle CPU ${idleCpuPercent} %`);
    return {
      name: 'sse-streams',
      target: `≥ ${STREAMS.toLocaleString('en')} concurrent idle SSE streams per instance at ≤ ${TARGET_KB} KB RSS each`,
      measured: `${n.toLocaleString('en')} streams held; ${rssKb} KB RSS per stream (${perStream('heapUsedBytes')} KB of JS heap)`,
      met: n >= STREAMS && status.dropped === 0 && rssKb <= TARGET_KB,
      figures: [
        atLeast('idle SSE streams held (none dropped)', status.dropped === 0 ? n : 0, STREAMS, 'streams'),
        atMost('RSS per idle SSE stream', rssKb, TARGET_KB, 'KB'),
        atMost('gateway CPU with the streams idle', idleCpuPercent, 0.1, '%'),
      ],
      details: {
        method: `gateway and client in separate processes; ${n} streams on one paused run after ${WARMUP_STREAMS} warm-up streams; memory after GC; open-files limit ${fdLimit}`,
        streamsRequested: streams,
        streamsOpened: n,
        failed: opened.failed,
        droppedWhileIdle: status.dropped,
        openSeconds: round(opened.seconds, 2),
        before: { rssMb: round(before.rssBytes / 1_048_576, 1), heapUsedMb: round(before.heapUsedBytes / 1_048_576, 1) },
        after: { rssMb: round(after.rssBytes / 1_048_576, 1), heapUsedMb: round(after.heapUsedBytes / 1_048_576, 1) },
        perStreamKb: { rss: rssKb, heapUsed: perStream('heapUsedBytes'), external: perStream('externalBytes') },
        idleCpuPercent,
      },
    };
  } finally {
    pausedRun?.close();
    await client.stop();
    await gateway.request({ kind: 'stop' } satisfies GatewayRequest, 30_000).catch(() => undefined);
    await gateway.stop();
    await stack.close();
  }
}

export const sseStreams: Benchmark = { name: 'sse-streams', description: 'memory per idle SSE stream at 10,000 streams', run };

runIfEntry(import.meta.url, () => runBenchmarks([sseStreams]));
