/**
 * GET /api/me at 50 connections vs a bare Fastify JSON route (issue 13), in the same process layout:
 * each server in a child of its own, autocannon in a third. Interleaved rounds, the order alternating;
 * the figure is the median of the per-round requests/s ratios.
 */
import { Child } from './lib/child.js';
import { GatewayChild } from './lib/gateway-child.js';
import { runBenchmarks, runIfEntry } from './lib/main.js';
import { summarizeProfile } from './lib/profile-summary.js';
import { atLeast, progress, sized, type BenchResult, type Benchmark } from './lib/report.js';
import { benchConfigInput, startBenchStack } from './lib/stack.js';
import { median, round } from './lib/stats.js';
import type { LoadRequest, LoadResult } from './procs/http-load.js';

const CONNECTIONS = 50;
const ROUNDS = sized(5, 2);
const ROUND_SEC = sized(4, 1);
const TARGET_RATIO = 0.5;

async function run(): Promise<BenchResult> {
  const stack = await startBenchStack();
  const gateway = await GatewayChild.start(benchConfigInput(stack.endpoints));
  const bare = Child.start(new URL('./procs/bare-fastify.ts', import.meta.url));
  const loader = Child.start(new URL('./procs/http-load.ts', import.meta.url));
  try {
    const bareUrl = await bare.request<string>({ kind: 'start' });
    const token = await stack.issuer.tokenFor('alice.chen');
    const targets = {
      me: { url: `${gateway.url}/api/me`, headers: { authorization: `Bearer ${token}` } },
      bare: { url: bareUrl, headers: {} },
    };
    const load = async (which: 'me' | 'bare', durationSec: number): Promise<LoadResult> => {
      const result = await loader.request<LoadResult>({ ...targets[which], connections: CONNECTIONS, durationSec } satisfies LoadRequest, 60_000);
      if (result.non2xx > 0 || result.errors > 0) throw new Error(`${which}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
      return result;
    };
    for (const which of ['me', 'bare'] as const) await load(which, 1);

    const rounds: Array<{ meRps: number; bareRps: number; ratio: number; gatewayCpuMsPerRequest: number }> = [];
    for (let index = 0; index < ROUNDS; index++) {
      const order = index % 2 === 0 ? (['me', 'bare'] as const) : (['bare', 'me'] as const);
      const rps = { me: 0, bare: 0 };
      let gatewayCpuMsPerRequest = 0;
      for (const which of order) {
        const before = await gateway.cpuMs();
        const result = await load(which, ROUND_SEC);
        if (which === 'me') gatewayCpuMsPerRequest = round(((await gateway.cpuMs()) - before) / result.requests, 4);
        rps[which] = result.rps;
      }
      rounds.push({ meRps: rps.me, bareRps: rps.bare, ratio: round(rps.me / rps.bare), gatewayCpuMsPerRequest });
      progress(`round ${index + 1}: /api/me ${rps.me} req/s, bare Fastify ${rps.bare} req/s (${round(rps.me / rps.bare, 2)}×)`);
    }
    await gateway.profileStart();
    await load('me', ROUND_SEC);
    const profile = summarizeProfile(await gateway.profileStop(), 15);

    const ratio = round(median(rounds.map((entry) => entry.ratio)), 2);
    const figure = atLeast(`GET /api/me ÷ bare Fastify route, req/s at ${CONNECTIONS} connections`, ratio, TARGET_RATIO, '×');
    return {
      name: 'api-me',
      target: `GET /api/me at ${CONNECTIONS} connections ≥ ${TARGET_RATIO}× a bare Fastify route`,
      measured: `${ratio}× (${Math.round(median(rounds.map((entry) => entry.meRps)))} vs ${Math.round(median(rounds.map((entry) => entry.bareRps)))} req/s)`,
      met: figure.met,
      figures: [figure],
      details: {
        method: `gateway and bare Fastify each in a child, autocannon in a third; ${ROUNDS} interleaved rounds of ${ROUND_SEC} s per server at ${CONNECTIONS} connections; median of per-round ratios`,
        rounds,
        gatewayCpuMsPerRequest: round(median(rounds.map((entry) => entry.gatewayCpuMsPerRequest)), 4),
        gatewayProfile: profile.split('\n'),
      },
    };
  } finally {
    await loader.stop();
    await bare.stop();
    await gateway.stop();
    await stack.close();
  }
}

export const apiMe: Benchmark = { name: 'api-me', description: 'GET /api/me vs a bare Fastify route at 50 connections', run };

runIfEntry(import.meta.url, () => runBenchmarks([apiMe]));
