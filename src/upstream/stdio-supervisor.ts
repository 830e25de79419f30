/**
 * Keeps one stdio server (a child process of this replica) running: after it exits, or fails to
 * start, it is started again after an exponential backoff, with a metric and a log line per restart.
 * After `crashLoopRestarts` failures in a row the server counts as crash-looping: calls are refused
 * at once (MCP_2003) until a scheduled restart brings it up — a circuit for a process that cannot stay up.
 * A process that ran for `stableAfterMs` before exiting starts the count afresh.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { GatewayConfig } from '../config/schema.js';
import type { Metrics } from '../ops/metrics.js';

type StdioPolicy = GatewayConfig['upstream']['stdio'];

export class StdioSupervisor {
  private failures = 0;
  private startedAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastProblem: string | undefined;
  private stopped = false;

  constructor(
    private readonly server: string,
    private readonly policy: StdioPolicy,
    private readonly metrics: Metrics,
    private readonly log: FastifyBaseLogger,
    private readonly restart: () => Promise<void>,
  ) {}

  /** The process is up and answered `initialize`. */
  started(): void {
    this.startedAt = Date.now();
    this.lastProblem = undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The process exited (or closed its pipes) while in use. */
  exited(): void {
    const ranMs = this.startedAt === undefined ? 0 : Date.now() - this.startedAt;
    this.startedAt = undefined;
    if (ranMs >= this.policy.stableAfterMs) this.failures = 0;
    this.schedule(`exited after ${Math.round(ranMs / 1000)} s`);
  }

  /** Starting it failed: no such command, it exited at once, or it never answered `initialize`. */
  failedStart(error: unknown): void {
    this.schedule(`could not be started: ${describe(error)}`);
  }

  /** Why calls are refused right now, if they are: only while crash-looping. */
  refusal(): string | undefined {
    return this.crashLooping() && this.timer !== undefined ? `stdio server is crash-looping (${this.failures} failed starts in a row; ${this.lastProblem ?? ''})` : undefined;
  }

  /** What readiness should report, if anything is wrong. */
  problem(): string | undefined {
    if (this.startedAt !== undefined) return undefined;
    if (this.crashLooping()) return `crash-looping: ${this.lastProblem ?? ''}`;
    return this.lastProblem;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private crashLooping(): boolean {
    return this.failures >= this.policy.crashLoopRestarts;
  }

  private schedule(problem: string): void {
    if (this.stopped) return;
    this.lastProblem = problem;
    this.failures += 1;
    if (this.timer !== undefined) return;
    const delayMs = Math.min(this.policy.restartMaxMs, this.policy.restartBaseMs * 2 ** (this.failures - 1));
    this.metrics.upstreamRestarts.inc({ server: this.server });
    const fields = { server: this.server, attempt: this.failures, delayMs, problem };
    if (this.crashLooping()) this.log.error(fields, 'stdio server is crash-looping; calls refused until it stays up');
    else this.log.warn(fields, 'stdio server stopped; restarting it');
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.restart();
    }, delayMs);
    this.timer.unref();
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
}
