/**
 * `npm run bench -- --write`: the figures of one run, with the machine's load average and the Node
 * version, written into bench/README.md between two markers (the text around them is hand-written).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { figuresOf, type BenchResult } from './report.js';

export interface BenchRun {
  startedAt: string;
  minutes: number;
  node: string;
  machine: string;
  loadBefore: [number, number, number];
  loadAfter: [number, number, number];
  quick: boolean;
  results: BenchResult[];
}

const START = '<!-- bench:results:start (written by `npm run bench -- --write`; do not edit by hand) -->';
const END = '<!-- bench:results:end -->';

const cell = (text: string): string => text.replaceAll('|', '\\|');

export function resultsSection(run: BenchRun): string {
  const lines = [
    START,
    '',
    `Run of ${run.startedAt.slice(0, 16).replace('T', ' ')} UTC, ${run.minutes} min${run.quick ? ', **quick mode** (small sizes: not comparable)' : ''}: Node ${run.node}, ${run.machine}.`,
    `Load average (1 / 5 / 15 min) ${run.loadBefore.join(' / ')} when it began, ${run.loadAfter.join(' / ')} when it ended.`,
    '',
    '| Benchmark | Figure | Target | Measured | Ratio | Met? |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const result of run.results) {
    for (const figure of figuresOf(result)) {
      const ratio = Number.isNaN(figure.ratio) ? '' : String(figure.ratio);
      lines.push(`| ${result.name} | ${cell(figure.label)} | ${cell(figure.target)} | ${cell(figure.measured)} | ${ratio} | ${figure.met ? 'yes' : '**no**'} |`);
    }
  }
  lines.push('', 'Ratio: measured ÷ bound for "at most" targets, bound ÷ measured for "at least" ones (≤ 1 is met).', '');
  for (const result of run.results) {
    lines.push(`<details><summary>${result.name}: ${cell(result.measured)}</summary>`, '', '```json', JSON.stringify(result.details, null, 2), '```', '', '</details>', '');
  }
  lines.push(END);
  return lines.join('\n');
}

/** Replaces the section between the markers (or appends it); returns the file written. */
export async function writeReadme(run: BenchRun): Promise<string> {
  const path = fileURLToPath(new URL('../README.md', import.meta.url));
  const text = await readFile(path, 'utf8');
  const section = resultsSection(run);
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  const next = start >= 0 && end > start ? `${text.slice(0, start)}${section}${text.slice(end + END.length)}` : `${text.trimEnd()}\n\n${section}\n`;
  await writeFile(path, next);
  return path;
}
