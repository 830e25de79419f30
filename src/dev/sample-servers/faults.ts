/**
 * Planned failures for tests: the next N HTTP requests fail with a status, or hang without an answer.
 * A hang may be aimed at `tools/call` requests only, so a client's background traffic (catalogue
 * refreshes) cannot take it in the call's place.
 */

export type FaultStatus = 502 | 503 | 504 | 429;

export type Fault = { kind: 'fail'; status: FaultStatus; retryAfterSec?: number } | { kind: 'hang'; toolCallsOnly?: true };

export class FaultPlan {
  /** Served in order: a later plan starts when the earlier one is used up. */
  private readonly queue: { fault: Fault; remaining: number }[] = [];

  failNext(count: number, status: FaultStatus, retryAfterSec?: number): void {
    this.plan(count, retryAfterSec === undefined ? { kind: 'fail', status } : { kind: 'fail', status, retryAfterSec });
  }

  hangNext(count: number): void {
    this.plan(count, { kind: 'hang' });
  }

  hangNextToolCalls(count: number): void {
    this.plan(count, { kind: 'hang', toolCallsOnly: true });
  }

  /** Whether the next fault needs to know if the request is a `tools/call` (its body must be read first). */
  needsMethod(): boolean {
    const head = this.queue[0]?.fault;
    return head?.kind === 'hang' && head.toolCallsOnly === true;
  }

  /** The fault the next request must suffer, if any; consumes it. */
  take(method?: string): Fault | undefined {
    const head = this.queue[0];
    if (head === undefined) return undefined;
    if (head.fault.kind === 'hang' && head.fault.toolCallsOnly === true && method !== 'tools/call') return undefined;
    head.remaining -= 1;
    if (head.remaining === 0) this.queue.shift();
    return head.fault;
  }

  private plan(count: number, fault: Fault): void {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`);
    this.queue.push({ fault, remaining: count });
  }
}
