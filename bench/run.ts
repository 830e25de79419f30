/**
 * Runs the benchmarks in sequence (`npm run bench`), or the ones named (`npm run bench -- tool-call sse-streams`),
 * each in a fresh child process, then prints a summary of every target.
 */
import { cpus } from 'node:os';
import { BENCHMARKS } from './benchmarks.js';
import { Child } from './lib/child.js';
import { printResult, type BenchResult } from './lib/report.js';

/** Each benchmark keeps itself under ~2 minutes; this only catches a hang. */
const BENCHMARK_TIMEOUT_MS = 300_000;

async function runInChild(name: string): Promise<BenchResult> {
  const child = Child.start(new URL('./procs/benchmark.ts', import.meta.url));
  try {
    return await child.request<BenchResult>(name, BENCHMARK_TIMEOUT_MS);
  } finally {
    await child.stop();
  }
}

async function main(names: string[]): Promise<number> {
  const known = BENCHMARKS.map((benchmark) => benchmark.name);
  const unknown = names.filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; choose from ${known.join(', ')}\n`);
    return 2;
  }
  const selected = names.length === 0 ? known : known.filter((name) => names.includes(name));
  process.stderr.write(`node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'})\n`);
  const results: BenchResult[] = [];
  for (const name of selected) {
    const result = await runInChild(name);
    printResult(result);
    results.push(result);
  }
  process.stdout.write('\n== summary\n');
  for (const result of results) process.stdout.write(`${result.met ? 'MET    ' : 'NOT MET'}  ${result.name.padEnd(16)} ${result.measured}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
