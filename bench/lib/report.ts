/** What every benchmark returns, and how results are printed. */

/**
 * One measured figure against its target. `ratio` is measured ÷ target bound for "at most" targets
 * and target bound ÷ measured for "at least" ones, so ≤ 1 always means met.
 */
export interface Figure {
  label: string;
  /** The figure in words with units, e.g. "0.41 ms". */
  measured: string;
  /** The target in words, e.g. "≤ 0.3 ms". */
  target: string;
  ratio: number;
  met: boolean;
}

export interface BenchResult {
  /** The benchmark's name, as `npm run bench -- <name>` takes it. */
  name: string;
  target: string;
  /** The headline figure compared with the target, in words with units. */
  measured: string;
  /** Whether the headline figure meets the target. */
  met: boolean;
  /** Every figure with a target of its own (the headline included), for the summary and the README. */
  figures?: Figure[];
  /** Everything else measured, for the README and for diagnosis. */
  details: Record<string, unknown>;
}

export interface Benchmark {
  name: string;
  description: string;
  run(): Promise<BenchResult>;
}

const roundRatio = (value: number): number => Math.round(value * 100) / 100;

/** A figure whose target is an upper bound (`measured ≤ bound`). */
export function atMost(label: string, measured: number, bound: number, unit: string): Figure {
  return { label, measured: `${measured} ${unit}`, target: `≤ ${bound} ${unit}`, ratio: roundRatio(bound === 0 ? (measured === 0 ? 0 : Infinity) : measured / bound), met: measured <= bound };
}

/** A figure whose target is a lower bound (`measured ≥ bound`). */
export function atLeast(label: string, measured: number, bound: number, unit: string): Figure {
  return { label, measured: `${measured} ${unit}`.trim(), target: `≥ ${bound} ${unit}`.trim(), ratio: roundRatio(measured === 0 ? Infinity : bound / measured), met: measured >= bound };
}

/** Every figure of a result: its own list, else the headline as one. */
export function figuresOf(result: BenchResult): Figure[] {
  return result.figures ?? [{ label: result.name, measured: result.measured, target: result.target, ratio: Number.NaN, met: result.met }];
}

export function figureLine(figure: Figure): string {
  const ratio = Number.isNaN(figure.ratio) ? '' : `  (ratio ${figure.ratio})`;
  return `${figure.met ? 'MET    ' : 'NOT MET'}  ${figure.label}: ${figure.measured}, target ${figure.target}${ratio}`;
}

export function printResult(result: BenchResult): void {
  const figures = result.figures === undefined ? '' : `   figures:\n${result.figures.map((figure) => `     ${figureLine(figure)}\n`).join('')}`;
  process.stdout.write(
    `\n== ${result.name}: ${result.met ? 'MET' : 'NOT MET'}\n   target:   ${result.target}\n   measured: ${result.measured}\n${figures}` +
      `   details:  ${JSON.stringify(result.details, null, 2).replaceAll('\n', '\n   ')}\n`,
  );
}

export function progress(line: string): void {
  process.stderr.write(`   · ${line}\n`);
}

/** Quick mode (`npm run bench -- --quick`): every benchmark at a fraction of its size, for a smoke test. */
export function quick(): boolean {
  return process.env.BENCH_QUICK === '1';
}

/** `full` normally, `small` in quick mode. */
export function sized(full: number, small: number): number {
  return quick() ? small : full;
}
