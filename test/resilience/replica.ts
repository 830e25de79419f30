/**
 * A gateway replica as a child process (its own timers, sockets and SIGTERM handling), started from a
 * config file written for it, and a client that behaves as the README tells clients to: it reads a
 * run's stream, approves confirmations, and resumes elsewhere with Last-Event-ID after `reconnect` or
 * a retryable error, so a scenario can count how every stream ended.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { GatewayConfig } from '../../src/config/schema.js';
import { freePort } from '../helpers/ports.js';
import { openSse, type SseFrame } from '../helpers/sse.js';

const ROOT = join(import.meta.dirname, '..', '..');

export interface Replica {
  readonly url: string;
  readonly child: ChildProcess;
  /** SIGTERM and wait for the exit code. */
  terminate(): Promise<number | null>;
  stop(): Promise<void>;
}

export async function startReplica(config: GatewayConfig): Promise<Replica> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'mcpgw-replica-'));
  const file = join(dir, 'gateway.json');
  const url = `http://127.0.0.1:${port}`;
  // A configuration file must name its public URL; each replica is reached at its own.
  await writeFile(file, JSON.stringify({ ...config, server: { ...config.server, port, publicUrl: config.server.publicUrl ?? url }, logging: { level: process.env.TEST_LOG_LEVEL ?? 'warn', pretty: false } }));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'start', '--config', file], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const deadline = Date.now() + 45_000;
  for (;;) {
    const live = await fetch(`${url}/health/live`).then((response) => response.ok, () => false);
    if (live) break;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`replica on port ${port} did not start`);
    await delay(200);
  }
  const terminate = async (): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return exited;
  };
  return {
    url,
    child,
    terminate,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface RunOutcome {
  /** done status, or why the client gave up: 'lost' (404 on resume), 'hung' (no final event in time). */
  end: string;
  frames: SseFrame[];
  resumes: number;
  statuses: number[];
  approved: string[];
}

/**
 * Starts a run on `replicas[0]` and follows it to the end like a well-behaved client: approve each
 * confirmation (through any replica, retrying 503), resume after `reconnect` or a retryable `error`
 * on the next replica. Stops at `deadline` with end 'hung'.
 */
export async function followRun(replicas: () => string[], token: string, query: string, deadline: () => number, onRunEvent?: () => void): Promise<RunOutcome> {
  const outcome: RunOutcome = { end: 'hung', frames: [], resumes: 0, statuses: [], approved: [] };
  let runId: string | undefined;
  let lastId: string | undefined;
  let turn = 0;
  while (Date.now() < deadline()) {
    const base = replicas()[turn % replicas().length]!;
    turn += 1;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), Math.max(1, deadline() - Date.now()));
    try {
      const connection =
        runId === undefined
          ? await openSse(`${base}/api/query`, { token, body: { query }, signal: controller.signal })
          : await openSse(`${base}/api/runs/${runId}/events`, { token, headers: lastId === undefined ? {} : { 'last-event-id': lastId }, signal: controller.signal });
      outcome.statuses.push(connection.status);
      if (connection.status === 404) {
        outcome.end = 'lost';
        return outcome;
      }
      if (connection.status === 204) {
        outcome.end = outcome.frames.findLast((frame) => frame.event === 'done')?.data.status ?? 'ended';
        return outcome;
      }
      if (connection.status !== 200) {
        await delay(500);
        continue;
      }
      for await (const frame of connection.frames) {
        if (frame.event === 'comment') continue;
        outcome.frames.push(frame);
        if (frame.id !== undefined) lastId = frame.id;
        if (frame.event === 'run') {
          runId = frame.data.runId as string;
          onRunEvent?.();
        }
        if (frame.event === 'confirmation_required') void approve(replicas, token, frame.data.confirmationId as string, outcome, deadline);
        if (frame.event === 'done') {
          outcome.end = frame.data.status as string;
          return outcome;
        }
      }
      // The stream ended without done: after `reconnect` or a retryable error, resume elsewhere.
      if (runId === undefined) return outcome;
      outcome.resumes += 1;
      await delay(300);
    } catch {
      if (Date.now() >= deadline()) break;
      await delay(300);
    } finally {
      clearTimeout(timer);
    }
  }
  return outcome;
}

async function approve(replicas: () => string[], token: string, confirmationId: string, outcome: RunOutcome, deadline: () => number): Promise<void> {
  let turn = 1;
  while (Date.now() < deadline()) {
    const base = replicas()[turn % replicas().length]!;
    turn += 1;
    const response = await fetch(`${base}/api/confirmations/${confirmationId}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ decision: 'approve' }),
    }).catch(() => undefined);
    if (response === undefined) {
      await delay(300);
      continue;
    }
    outcome.statuses.push(response.status);
    await response.text();
    if (response.status === 200) outcome.approved.push(confirmationId);
    if (response.status !== 503) return;
    await delay(Number(response.headers.get('retry-after') ?? '1') * 500);
  }
}
