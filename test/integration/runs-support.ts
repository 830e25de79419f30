/** Small helpers shared by the agent-run test files (not a test file itself). */
import { expect } from 'vitest';
import type { Gateway } from '../../src/app.js';
import type { LoggedRunEvent } from '../../src/runs/events.js';
import { RunStore } from '../../src/runs/run-store.js';
import { openSse, type SseConnection, type SseFrame } from '../helpers/sse.js';

/** Starts a run: POST /api/query streamed as SSE. */
export function startRun(baseUrl: string, token: string, body: unknown, headers: Record<string, string> = {}): Promise<SseConnection> {
  return openSse(`${baseUrl}/api/query`, { token, body, headers });
}

/** Reads a run's log as SSE from any replica, after `lastEventId` when given. */
export function readRun(baseUrl: string, token: string, runId: string, lastEventId?: string): Promise<SseConnection> {
  return openSse(`${baseUrl}/api/runs/${runId}/events`, { token, headers: lastEventId === undefined ? {} : { 'last-event-id': lastEventId } });
}

/** Store stream ids `<ms>-<seq>` as a comparable pair. */
function idParts(id: string): [bigint, bigint] {
  const match = /^(\d+)-(\d+)$/.exec(id);
  if (match === null) throw new Error(`not an event id: ${id}`);
  return [BigInt(match[1]!), BigInt(match[2]!)];
}

export function compareIds(a: string, b: string): number {
  const [msA, seqA] = idParts(a);
  const [msB, seqB] = idParts(b);
  if (msA !== msB) return msA < msB ? -1 : 1;
  return seqA === seqB ? 0 : seqA < seqB ? -1 : 1;
}

export function expectStrictlyIncreasing(frames: readonly SseFrame[]): void {
  for (let index = 1; index < frames.length; index += 1) {
    expect(compareIds(frames[index - 1]!.id!, frames[index]!.id!), `ids ${frames[index - 1]!.id} then ${frames[index]!.id}`).toBe(-1);
  }
}

export function eventsOf(frames: readonly SseFrame[]): string[] {
  return frames.map((frame) => frame.event);
}

/** The run id from a stream's first (`run`) frame. */
export function runIdOf(frames: readonly SseFrame[]): string {
  const first = frames[0];
  if (first?.event !== 'run') throw new Error(`expected a run event first, got ${first?.event}`);
  return first.data.runId as string;
}

/** The run's whole log straight from the gateway's store (no SSE involved). */
export function runLog(gateway: Gateway, runId: string): Promise<LoggedRunEvent[]> {
  return new RunStore(gateway.store, gateway.config.runs.ttlMs).events(runId);
}

/** The value of one labelled series of a prom-client counter or gauge (0 when absent). */
export async function metricValue(metric: { get(): Promise<{ values: Array<{ value: number; labels: Record<string, unknown> }> }> }, labels: Record<string, string> = {}): Promise<number> {
  const { values } = await metric.get();
  const series = values.find((entry) => Object.entries(labels).every(([name, value]) => entry.labels[name] === value));
  return series?.value ?? 0;
}

/** Tool names offered in a model request body. */
export interface ModelRequestBody {
  tools?: Array<{ name: string; cache_control?: unknown }>;
  system?: Array<{ text: string; cache_control?: unknown }>;
  messages: Array<{ role: string; content: unknown }>;
}
