/** Lets each benchmark file run on its own (`node --expose-gc --import tsx bench/<file>.ts`) as well as from run.ts. */
import { pathToFileURL } from 'node:url';
import { printResult, type BenchResult, type Benchmark } from './report.js';

export async function runBenchmarks(benchmarks: readonly Benchmark[]): Promise<BenchResult[]> {
  if (globalThis.gc === undefined) throw new Error('run with node --expose-gc (npm run bench does)');
  const results: BenchResult[] = [];
  for (const benchmark of benchmarks) {
    process.stderr.write(`\n>> ${benchmark.name}: ${benchmark.description}\n`);
    const result = await benchmark.run();
    printResult(result);
    results.push(result);
  }
  return results;
}

/**
 * Runs `main` when `moduleUrl` is the entry script, then exits: a benchmark that left a handle open
 * must not hang the run (every child process it started has already been stopped by pid).
 */
export function runIfEntry(moduleUrl: string, main: () => Promise<unknown>): void {
  const entry = process.argv[1];
  if (entry === undefined || pathToFileURL(entry).href !== moduleUrl) return;
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
