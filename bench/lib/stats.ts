/** Latency statistics on Node's own HDR histogram (perf_hooks), recorded in nanoseconds. */
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

export function latencyHistogram(): RecordableHistogram {
  return createHistogram();
}

/** Records one duration given in milliseconds (the histogram needs a positive integer). */
export function recordMs(histogram: RecordableHistogram, ms: number): void {
  histogram.record(Math.max(1, Math.round(ms * 1e6)));
}

/** Times one call and records it. */
export async function timed<T>(histogram: RecordableHistogram, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await work();
  recordMs(histogram, performance.now() - started);
  return result;
}

const toMs = (ns: number): number => Math.round(ns / 1e3) / 1e3;

export function summarize(histogram: RecordableHistogram): LatencySummary {
  return {
    count: histogram.count,
    p50Ms: toMs(histogram.percentile(50)),
    p90Ms: toMs(histogram.percentile(90)),
    p99Ms: toMs(histogram.percentile(99)),
    maxMs: toMs(histogram.max),
    meanMs: toMs(histogram.mean),
  };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function round(value: number, digits = 3): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** A difference with its sign: +1.2, −0.4. */
export function signed(value: number): string {
  return value < 0 ? `−${Math.abs(value)}` : `+${value}`;
}
