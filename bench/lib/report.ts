/** What every benchmark returns, and how results are printed. */

export interface BenchResult {
  /** The benchmark's name, as `npm run bench -- <name>` takes it. */
  name: string;
  target: string;
  /** The headline figure compared with the target, in words with units. */
  measured: string;
  /** Whether the headline figure meets the target. */
  met: boolean;
  /** Everything else measured, for the README and for diagnosis. */
  details: Record<string, unknown>;
}

export interface Benchmark {
  name: string;
  description: string;
  run(): Promise<BenchResult>;
}

export function printResult(result: BenchResult): void {
  process.stdout.write(
    `\n== ${result.name}: ${result.met ? 'MET' : 'NOT MET'}\n   target:   ${result.target}\n   measured: ${result.measured}\n` +
      `   details:  ${JSON.stringify(result.details, null, 2).replaceAll('\n', '\n   ')}\n`,
  );
}

export function progress(line: string): void {
  process.stderr.write(`   · ${line}\n`);
}
