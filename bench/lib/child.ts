/**
 * Benchmark child processes: load generators and gateways that must not share the measuring
 * process's CPU or heap. A child is a TypeScript file run through tsx with IPC; the parent sends
 * requests and the child answers each one. Children are stopped by pid, never by name.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

interface Envelope {
  id: number;
  body: unknown;
}

interface Answer {
  id: number;
  ok: boolean;
  body?: unknown;
  error?: string;
}

export interface ChildOptions {
  /** Node flags besides the tsx loader and --expose-gc. */
  execArgv?: string[];
  env?: NodeJS.ProcessEnv;
}

export class Child {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (body: unknown) => void; reject: (error: Error) => void }>();
  private readonly exited: Promise<unknown>;

  private constructor(private readonly process: ChildProcess) {
    process.on('message', (message: Answer) => {
      const waiter = this.pending.get(message.id);
      if (waiter === undefined) return;
      this.pending.delete(message.id);
      if (message.ok) waiter.resolve(message.body);
      else waiter.reject(new Error(`child ${this.pid}: ${message.error ?? 'failed'}`));
    });
    this.exited = once(process, 'exit');
    void this.exited.then(() => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`child ${this.pid} exited`));
      this.pending.clear();
    });
  }

  static start(script: URL, options: ChildOptions = {}): Child {
    const child = fork(fileURLToPath(script), [], {
      execArgv: ['--import', 'tsx', '--expose-gc', ...(options.execArgv ?? [])],
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Child(child);
  }

  get pid(): number {
    if (this.process.pid === undefined) throw new Error('child did not start');
    return this.process.pid;
  }

  /** Sends one request and resolves with the child's answer; rejects if the child fails or exits. */
  request<T>(body: unknown, timeoutMs = 120_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`child ${this.pid} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (answer) => {
          clearTimeout(timer);
          resolve(answer as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.process.send({ id, body } satisfies Envelope);
    });
  }

  /** SIGTERM by pid, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    process.kill(this.pid, 'SIGTERM');
    const timer = setTimeout(() => {
      if (this.process.exitCode === null && this.process.signalCode === null) process.kill(this.pid, 'SIGKILL');
    }, graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Child side: answers every request with `handler`; an error is reported, not fatal. */
export function serveRequests(handler: (body: unknown) => Promise<unknown>): void {
  const send = process.send?.bind(process);
  if (send === undefined) throw new Error('this script runs as a benchmark child (with an IPC channel)');
  process.on('message', (message: Envelope) => {
    handler(message.body).then(
      (body) => send({ id: message.id, ok: true, body } satisfies Answer),
      (error: unknown) => send({ id: message.id, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) } satisfies Answer),
    );
  });
  // The parent going away (crash, Ctrl-C) must not leave children holding ports and sockets.
  process.on('disconnect', () => process.exit(0));
}

/** Runs `gc()` a few times so that measurements compare live objects only. */
export async function collectGarbage(rounds = 4): Promise<void> {
  const gc = globalThis.gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  for (let round = 0; round < rounds; round++) {
    gc();
    // Let finalizers and weak callbacks run between rounds.
    await new Promise((resolve) => setImmediate(resolve));
  }
}
