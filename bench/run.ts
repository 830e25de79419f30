/**
 * Runs the benchmarks in sequence (`npm run bench`), or the ones named (`npm run bench -- tool-call runs`),
 * each in a fresh child process, then prints every figure with its target and ratio.
 *   --quick   every benchmark at a fraction of its size (a smoke test of the bench itself, figures not comparable)
 *   --write   also writes the figures, the machine's load average and the Node version into bench/README.md
 */
import { cpus, loadavg } from 'node:os';
import { BENCHMARKS } from './benchmarks.js';
import { Child } from './lib/child.js';
import { writeReadme, type BenchRun } from './lib/readme.js';
import { figureLine, figuresOf, printResult, type BenchResult } from './lib/report.js';

/** Each benchmark keeps itself to a few minutes; this only catches a hang. */
const BENCHMARK_TIMEOUT_MS = 900_000;

async function runInChild(name: string): Promise<BenchResult> {
  const child = Child.start(new URL('./procs/benchmark.ts', import.meta.url));
  try {
    return await child.request<BenchResult>(name, BENCHMARK_TIMEOUT_MS);
  } finally {
    await child.stop();
  }
}

const loadAverage = (): [number, number, number] => loadavg().map((value) => Math.round(value * 100) / 100) as [number, number, number];

async function main(args: string[]): Promise<number> {
  const flags = new Set(args.filter((arg) => arg.startsWith('--')));
  const names = args.filter((arg) => !arg.startsWith('--'));
  const unknownFlags = [...flags].filter((flag) => flag !== '--quick' && flag !== '--write');
  const known = BENCHMARKS.map((benchmark) => benchmark.name);
  const unknown = names.filter((name) => !known.includes(name));
  if (unknown.length > 0 || unknownFlags.length > 0) {
    process.stderr.write(`unknown: ${[...unknown, ...unknownFlags].join(', ')}; benchmarks: ${known.join(', ')}; flags: --quick, --write\n`);
    return 2;
  }
  // Children read it (lib/report.ts `quick()`); set before any starts.
  if (flags.has('--quick')) process.env.BENCH_QUICK = '1';
  const selected = names.length === 0 ? known : known.filter((name) => names.includes(name));
  const machine = `${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'})`;
  const startedAt = new Date();
  const loadBefore = loadAverage();
  process.stderr.write(`node ${process.version}, ${machine}, load average ${loadBefore.join(' / ')}${flags.has('--quick') ? ', QUICK mode' : ''}\n`);
  const results: BenchResult[] = [];
  for (const name of selected) {
    const result = await runInChild(name);
    printResult(result);
    results.push(result);
  }
  const loadAfter = loadAverage();
  process.stdout.write(`\n== summary (node ${process.version}, ${machine}, load average ${loadBefore.join(' / ')} before, ${loadAfter.join(' / ')} after)\n`);
  for (const result of results) for (const figure of figuresOf(result)) process.stdout.write(`${result.name.padEnd(16)} ${figureLine(figure)}\n`);
  if (flags.has('--write')) {
    const run: BenchRun = { startedAt: startedAt.toISOString(), minutes: Math.round((Date.now() - startedAt.getTime()) / 6_000) / 10, node: process.version, machine, loadBefore, loadAfter, quick: flags.has('--quick'), results };
    const path = await writeReadme(run);
    process.stdout.write(`\nwrote ${path}\n`);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
