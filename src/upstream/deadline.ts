/**
 * The deadline of one whole upstream call, retries and backoff included. Progress from the upstream
 * restarts it (the SDK's `resetTimeoutOnProgress` semantics, applied across attempts) but never
 * beyond `maxTotalMs` from the start, so a long tool that reports progress may run long while a
 * silent one is cut off, and nothing is attempted once the deadline has passed.
 */
export class CallDeadline {
  private readonly controller = new AbortController();
  private readonly startedAt = Date.now();
  private endsAt: number;
  private timer: NodeJS.Timeout | undefined;
  private followed: { signal: AbortSignal; onAbort: () => void } | undefined;
  /** Requests to the caller waiting for their answer: while any does, the deadline does not run. */
  private holds = 0;

  constructor(
    private readonly timeoutMs: number,
    private readonly maxTotalMs: number,
  ) {
    this.endsAt = this.startedAt + Math.min(timeoutMs, maxTotalMs);
    this.arm();
  }

  /**
   * Ends the deadline early when `signal` aborts (the caller went away), with its reason. One
   * listener removed again by clear(), instead of an AbortSignal.any chain per call.
   */
  follow(signal: AbortSignal | undefined): void {
    if (signal === undefined) return;
    if (signal.aborted) {
      this.controller.abort(signal.reason);
      return;
    }
    const onAbort = (): void => this.controller.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    this.followed = { signal, onAbort };
  }

  /** Aborts when the deadline passes, or when the followed signal does. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get expired(): boolean {
    return this.controller.signal.aborted;
  }

  remainingMs(): number {
    return Math.max(0, this.endsAt - Date.now());
  }

  /** Time left before the ceiling that progress can extend the deadline to. */
  ceilingRemainingMs(): number {
    return Math.max(0, this.startedAt + this.maxTotalMs - Date.now());
  }

  /**
   * The caller is being asked something (a request the upstream made, relayed to a person or a
   * client): the deadline stops until the answer, then restarts as on progress. The ceiling holds
   * throughout (the SDK's own timeout sits just beyond it), so a hold never outlives the call's ceiling.
   */
  hold(): () => void {
    this.holds += 1;
    clearTimeout(this.timer);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds -= 1;
      this.extend();
    };
  }

  /** Progress arrived: the deadline restarts, capped at the total ceiling. */
  extend(): void {
    if (this.expired || this.holds > 0) return;
    this.endsAt = Math.min(Date.now() + this.timeoutMs, this.startedAt + this.maxTotalMs);
    clearTimeout(this.timer);
    this.arm();
  }

  clear(): void {
    clearTimeout(this.timer);
    this.followed?.signal.removeEventListener('abort', this.followed.onAbort);
    this.followed = undefined;
  }

  private arm(): void {
    const totalMs = Date.now() - this.startedAt + this.remainingMs();
    this.timer = setTimeout(() => this.controller.abort(new Error(`no answer within ${Math.round(totalMs)} ms`)), this.remainingMs());
    this.timer.unref();
  }
}
