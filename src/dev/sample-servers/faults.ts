/** Planned failures for tests: the next N HTTP requests fail with a status, or hang without an answer. */

export type FaultStatus = 502 | 503 | 504 | 429;

export type Fault = { kind: 'fail'; status: FaultStatus; retryAfterSec?: number } | { kind: 'hang' };

export class FaultPlan {
  /** Served in order: a later plan starts when the earlier one is used up. */
  private readonly queue: { fault: Fault; remaining: number }[] = [];

  failNext(count: number, status: FaultStatus, retryAfterSec?: number): void {
    this.plan(count, retryAfterSec === undefined ? { kind: 'fail', status } : { kind: 'fail', status, retryAfterSec });
  }

  hangNext(count: number): void {
    this.plan(count, { kind: 'hang' });
  }

  /** The fault the next request must suffer, if any; consumes it. */
  take(): Fault | undefined {
    const head = this.queue[0];
    if (head === undefined) return undefined;
    head.remaining -= 1;
    if (head.remaining === 0) this.queue.shift();
    return head.fault;
  }

  private plan(count: number, fault: Fault): void {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`);
    this.queue.push({ fault, remaining: count });
  }
}
