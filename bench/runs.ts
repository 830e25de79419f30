/**
 * Agent runs, memory store vs Redis, side by side: a gateway child on each store (Redis: a private
 * redis-server), one stack child (issuer, sample servers, simulated model without delays), one client
 * child. Interleaved rounds (the order alternates per round) of the same runs on each gateway give
 * gateway CPU per run (read from its process), runs/s and p99 time to the first event; then both
 * gateways sit idle together and their CPU is read over the same window; then the sweep: 10, 100
 * and 1,000 concurrent runs on each store.
 */
import { Child } from './lib/child.js';
import { GatewayChild } from './lib/gateway-child.js';
import { runBenchmarks, runIfEntry } from './lib/main.js';
import { raiseOpenFilesLimit } from './lib/proc.js';
import { startBenchRedis } from './lib/redis-server.js';
import { summarizeProfile } from './lib/profile-summary.js';
import { startRemoteStack } from './lib/remote-stack.js';
import { atLeast, atMost, progress, quick, sized, type BenchResult, type Benchmark, type Figure } from './lib/report.js';
import { benchConfigInput } from './lib/stack.js';
import { median, round } from './lib/stats.js';
import type { RunsLoadRequest, RunsLoadResult } from './procs/runs-load.js';
import { cpuSeconds } from './lib/proc.js';

/** A run that calls one tool (finance list_invoices) and answers: the simulated model's usual path. */
export const RUN_QUERY = 'Analyze revenue: list the invoices';
export const RUN_USER = 'bob.martinez';

const ROUNDS = sized(3, 1);
const RUNS_PER_ROUND = sized(400, 40);
const CONCURRENCY = 20;
const WARMUP_RUNS = sized(200, 20);
const IDLE_SEC = sized(10, 3);
const SWEEP = quick() ? [10, 100] : [10, 100, 1_000];

const TARGETS = { cpuMemoryMs: 2.5, redisFactor: 1.3, runsPerSecond: 200, firstEventP99Ms: 200, idleCpuPercent: 0.1 };

type StoreName = 'memory' | 'redis';

interface Round {
  store: StoreName;
  cpuMsPerRun: number;
  runsPerSecond: number;
  firstEventP99Ms: number;
  redisCpuMsPerRun?: number;
}

async function run(): Promise<BenchResult> {
  const stack = await startRemoteStack();
  const redis = await startBenchRedis();
  const gateways: Partial<Record<StoreName, GatewayChild>> = {};
  const client = Child.start(new URL('./procs/runs-load.ts', import.meta.url));
  try {
    gateways.memory = await GatewayChild.start(benchConfigInput(stack.endpoints));
    gateways.redis = await GatewayChild.start(benchConfigInput(stack.endpoints, { store: { driver: 'redis', url: redis.url, keyPrefix: 'bench:' } }));
    const fdLimit = Math.min(await raiseOpenFilesLimit(gateways.memory.pid), await raiseOpenFilesLimit(gateways.redis.pid), await raiseOpenFilesLimit(client.pid), await raiseOpenFilesLimit(stack.pid));
    const token = await stack.tokenFor(RUN_USER);
    const load = (gateway: GatewayChild, runs: number, concurrency: number): Promise<RunsLoadResult> =>
      client.request<RunsLoadResult>({ url: gateway.url, token, query: RUN_QUERY, runs, concurrency } satisfies RunsLoadRequest, 240_000);
    const gatewayOf = (store: StoreName): GatewayChild => gateways[store]!;

    /** One measured batch: gateway CPU per run (and redis-server's on Redis), runs/s, p99 first event. */
    const measure = async (store: StoreName, runs: number, concurrency: number): Promise<Round & { result: RunsLoadResult }> => {
      const gateway = gatewayOf(store);
      const cpuBefore = await gateway.cpuMs();
      const redisBefore = store === 'redis' ? await cpuSeconds(redis.pid) : 0;
      const result = await load(gateway, runs, concurrency);
      const cpuMs = (await gateway.cpuMs()) - cpuBefore;
      if (result.failed > 0) progress(`${store}: ${result.failed} runs failed: ${result.failures.join('; ')}`);
      const redisCpuMsPerRun = store === 'redis' ? round((((await cpuSeconds(redis.pid)) - redisBefore) * 1000) / result.completed, 2) : undefined;
      return {
        store,
        cpuMsPerRun: round(cpuMs / result.completed, 2),
        runsPerSecond: round(result.runsPerSecond, 1),
        firstEventP99Ms: result.firstEvent.p99Ms,
        ...(redisCpuMsPerRun === undefined ? {} : { redisCpuMsPerRun }),
        result,
      };
    };

    for (const store of ['memory', 'redis'] as const) await load(gatewayOf(store), WARMUP_RUNS, CONCURRENCY);
    const rounds: Round[] = [];
    for (let index = 0; index < ROUNDS; index++) {
      const order: StoreName[] = index % 2 === 0 ? ['memory', 'redis'] : ['redis', 'memory'];
      for (const store of order) {
        const { result: _result, ...round_ } = await measure(store, RUNS_PER_ROUND, CONCURRENCY);
        rounds.push(round_);
        progress(`round ${index + 1} ${store}: ${round_.cpuMsPerRun} ms CPU/run, ${round_.runsPerSecond} runs/s, p99 first event ${round_.firstEventP99Ms} ms`);
      }
    }
    const of = (store: StoreName, key: 'cpuMsPerRun' | 'runsPerSecond' | 'firstEventP99Ms'): number => round(median(rounds.filter((entry) => entry.store === store).map((entry) => entry[key])), 2);
    const redisOverMemory = round(median(rounds.filter((entry) => entry.store === 'redis').map((entry, index) => entry.cpuMsPerRun / rounds.filter((other) => other.store === 'memory')[index]!.cpuMsPerRun)), 2);

    // What dominates: a CPU profile of each gateway over one more batch.
    const profiles: Partial<Record<StoreName, string[]>> = {};
    for (const store of ['memory', 'redis'] as const) {
      await gatewayOf(store).profileStart();
      await load(gatewayOf(store), RUNS_PER_ROUND, CONCURRENCY);
      profiles[store] = summarizeProfile(await gatewayOf(store).profileStop(), 15).split('\n');
    }

    // Idle: both gateways at once, after their last runs settled.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const idleBefore = { memory: await gateways.memory.cpuMs(), redis: await gateways.redis.cpuMs(), redisServer: await cpuSeconds(redis.pid) };
    await new Promise((resolve) => setTimeout(resolve, IDLE_SEC * 1000));
    const idle = {
      memory: round(((await gateways.memory.cpuMs()) - idleBefore.memory) / (IDLE_SEC * 10), 2),
      redis: round(((await gateways.redis.cpuMs()) - idleBefore.redis) / (IDLE_SEC * 10), 2),
      redisServer: round(((await cpuSeconds(redis.pid)) - idleBefore.redisServer) * 100 / IDLE_SEC, 2),
    };
    progress(`idle CPU over ${IDLE_SEC} s: memory-store gateway ${idle.memory} %, Redis-store gateway ${idle.redis} %, redis-server ${idle.redisServer} %`);

    const sweep: Array<Round & { concurrency: number; runs: number; failed: number }> = [];
    for (const concurrency of SWEEP) {
      if (concurrency + 200 > fdLimit) {
        progress(`open-files limit ${fdLimit}: sweep level ${concurrency} skipped`);
        continue;
      }
      const runs = Math.max(sized(300, 50), 2 * concurrency);
      for (const store of ['memory', 'redis'] as const) {
        const { result, ...level } = await measure(store, runs, concurrency);
        sweep.push({ ...level, concurrency, runs, failed: result.failed });
        progress(`sweep ${concurrency} concurrent, ${store}: ${level.runsPerSecond} runs/s, p99 first event ${level.firstEventP99Ms} ms, ${level.cpuMsPerRun} ms CPU/run`);
      }
    }

    const figures: Figure[] = [
      atMost('gateway CPU per run, memory store', of('memory', 'cpuMsPerRun'), TARGETS.cpuMemoryMs, 'ms'),
      atMost('gateway CPU per run, Redis ÷ memory store', redisOverMemory, TARGETS.redisFactor, '×'),
      ...(['memory', 'redis'] as const).flatMap((store) => [
        atLeast(`runs/s at ${CONCURRENCY} concurrent, ${store} store`, of(store, 'runsPerSecond'), TARGETS.runsPerSecond, 'runs/s'),
        atMost(`p99 time to first event at ${CONCURRENCY} concurrent, ${store} store`, of(store, 'firstEventP99Ms'), TARGETS.firstEventP99Ms, 'ms'),
        atMost(`gateway CPU while idle, ${store} store`, idle[store], TARGETS.idleCpuPercent, '%'),
      ]),
      ...sweep.flatMap((level) => [
        atLeast(`sweep ${level.concurrency} concurrent, ${level.store} store: runs/s`, level.runsPerSecond, TARGETS.runsPerSecond, 'runs/s'),
        atMost(`sweep ${level.concurrency} concurrent, ${level.store} store: p99 first event`, level.firstEventP99Ms, TARGETS.firstEventP99Ms, 'ms'),
      ]),
    ];
    return {
      name: 'runs',
      target: `≤ ${TARGETS.cpuMemoryMs} ms gateway CPU per run (memory), Redis ≤ ${TARGETS.redisFactor}×, ≥ ${TARGETS.runsPerSecond} runs/s, p99 first event ≤ ${TARGETS.firstEventP99Ms} ms, idle ≈ 0 %`,
      measured: `memory ${of('memory', 'cpuMsPerRun')} ms/run, Redis ${of('redis', 'cpuMsPerRun')} ms/run (${redisOverMemory}×); ${of('memory', 'runsPerSecond')} / ${of('redis', 'runsPerSecond')} runs/s`,
      met: figures.every((figure) => figure.met),
      figures,
      details: {
        method: `gateway children on each store, stack and client in children of their own; ${ROUNDS} interleaved rounds of ${RUNS_PER_ROUND} runs at ${CONCURRENCY} concurrent per store after ${WARMUP_RUNS} warm-up runs each; medians of the rounds; idle over ${IDLE_SEC} s`,
        query: RUN_QUERY,
        rounds,
        redisServerCpuMsPerRun: round(median(rounds.flatMap((entry) => entry.redisCpuMsPerRun ?? [])), 2),
        idleCpuPercent: idle,
        sweep,
        openFilesLimit: fdLimit,
        gatewayProfile: profiles,
      },
    };
  } finally {
    await client.stop();
    await Promise.all(Object.values(gateways).map((gateway) => gateway.stop()));
    await redis.stop();
    await stack.stop();
  }
}

export const runs: Benchmark = { name: 'runs', description: 'agent runs: memory store vs Redis, idle CPU, 10/100/1,000 concurrent', run };

runIfEntry(import.meta.url, () => runBenchmarks([runs]));
