/**
 * Resilience for one upstream server (cockatiel): one deadline for the whole call (retries and backoff
 * included; upstream progress extends it up to a ceiling), retries with exponential backoff and full
 * jitter for transient failures only — only when repeating is safe, and never once the deadline has
 * passed — and a circuit breaker that turns a dead server into an immediate MCP_2003 instead of a
 * slow failure.
 */
import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  DelegateBackoff,
  circuitBreaker,
  handleWhen,
  retry,
  wrap,
  type IRetryBackoffContext,
} from 'cockatiel';
import type { FastifyBaseLogger } from 'fastify';
import type { GatewayConfig } from '../config/schema.js';
import { GatewayError } from '../errors.js';
import type { Metrics } from '../ops/metrics.js';
import { withCallContext, type AttemptOutcome, type CallContext, type Caller, type CallRelay } from './call-context.js';
import { CallDeadline } from './deadline.js';

const TRANSIENT_STATUSES = new Set([429, 502, 503, 504]);
const TRANSIENT_NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

/** One failed attempt, classified once from what the transport saw. */
export class AttemptFailure extends Error {
  constructor(
    override readonly cause: unknown,
    readonly outcome: AttemptOutcome,
    readonly timedOut: boolean,
    /** Time left before the whole call's deadline when this attempt failed. */
    readonly remainingMs: number,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'AttemptFailure';
  }

  /** Counts against the breaker; retried where repeating is safe and time is left. */
  get transient(): boolean {
    if (this.timedOut) return true;
    if (this.outcome.status !== undefined) return TRANSIENT_STATUSES.has(this.outcome.status);
    return this.outcome.networkCode !== undefined && TRANSIENT_NETWORK_CODES.has(this.outcome.networkCode);
  }
}

export interface AttemptTools {
  /** Aborts on the caller's cancellation or the call's deadline. */
  readonly signal: AbortSignal;
  readonly deadline: CallDeadline;
}

export interface RunOptions {
  /** Repeating is safe: listing, or a tool annotated readOnlyHint / idempotentHint. */
  safeToRepeat: boolean;
  /** The whole call's deadline. */
  timeoutMs: number;
  /** Progress extends the deadline up to this long in all. */
  maxTotalTimeoutMs: number;
  signal?: AbortSignal | undefined;
  caller: Caller;
  /** Request id and trace context. */
  headers: Record<string, string>;
  relay?: CallRelay | undefined;
}

export class ServerResilience {
  private readonly breaker;
  /** For listing and read-only or idempotent tools: any transient failure may be retried. */
  private readonly safePolicy;
  /** For everything else: only a request that provably never reached the server (refused) is repeated. */
  private readonly unsafePolicy;
  private readonly policyConfig: GatewayConfig['upstream'];

  constructor(
    private readonly server: string,
    config: GatewayConfig['upstream'],
    private readonly metrics: Metrics,
    log: FastifyBaseLogger,
  ) {
    this.policyConfig = config;
    this.breaker = circuitBreaker(
      handleWhen((error) => error instanceof AttemptFailure && error.transient),
      { halfOpenAfter: config.breaker.halfOpenAfterMs, breaker: new ConsecutiveBreaker(config.breaker.consecutiveFailures) },
    );
    this.breaker.onStateChange((state) => {
      metrics.breakerOpen.set({ server }, state === CircuitState.Open ? 1 : 0);
      if (state === CircuitState.Open) log.warn({ server }, 'circuit breaker opened: upstream marked unavailable');
      if (state === CircuitState.Closed) log.info({ server }, 'circuit breaker closed: upstream recovered');
    });
    this.safePolicy = this.retrying(() => true);
    this.unsafePolicy = this.retrying((failure) => !failure.outcome.reached);
  }

  get isOpen(): boolean {
    return this.breaker.state === CircuitState.Open;
  }

  async run<T>(operation: (tools: AttemptTools) => Promise<T>, options: RunOptions): Promise<T> {
    const policy = options.safeToRepeat ? this.safePolicy : this.unsafePolicy;
    const deadline = new CallDeadline(options.timeoutMs, options.maxTotalTimeoutMs);
    deadline.follow(options.signal);
    const callSignal = deadline.signal;
    try {
      return await policy.execute(async () => {
        const context: CallContext = { caller: options.caller, headers: options.headers, relay: options.relay, holdDeadline: () => deadline.hold() };
        try {
          // A retry whose backoff outlasted the deadline is never sent.
          callSignal.throwIfAborted();
          return await withCallContext(context, () => operation({ signal: callSignal, deadline }));
        } catch (error) {
          throw new AttemptFailure(error, context.lastOutcome ?? { reached: true }, deadline.expired && options.signal?.aborted !== true, deadline.remainingMs());
        }
      }, callSignal);
    } catch (error) {
      throw this.toGatewayError(error, options.signal);
    } finally {
      deadline.clear();
    }
  }

  /** Retries transient failures with full-jitter backoff (or Retry-After), for attempts `retryable` accepts. */
  private retrying(retryable: (failure: AttemptFailure) => boolean) {
    const { retry: retryConfig } = this.policyConfig;
    const policy = retry(
      // A timed-out attempt used up the whole call's deadline, and a Retry-After beyond it cannot be honoured.
      handleWhen(
        (error) =>
          error instanceof AttemptFailure && error.transient && !error.timedOut && Math.min(error.outcome.retryAfterMs ?? 0, retryConfig.maxMs) < error.remainingMs && retryable(error),
      ),
      {
        maxAttempts: retryConfig.attempts - 1,
        backoff: new DelegateBackoff((context: IRetryBackoffContext<unknown>) => {
          const failure = 'error' in context.result ? context.result.error : undefined;
          const hinted = failure instanceof AttemptFailure ? failure.outcome.retryAfterMs : undefined;
          if (hinted !== undefined) return Math.min(hinted, retryConfig.maxMs);
          // Full jitter: uniformly random up to the exponential ceiling.
          return Math.random() * Math.min(retryConfig.maxMs, retryConfig.baseMs * 2 ** (context.attempt - 1));
        }),
      },
    );
    policy.onRetry(() => this.metrics.upstreamRetries.inc({ server: this.server }));
    return wrap(policy, this.breaker);
  }

  private toGatewayError(error: unknown, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted === true) return signal.reason ?? error;
    if (error instanceof BrokenCircuitError) return new GatewayError('MCP_2003', { details: { server: this.server, reason: 'circuit open' } });
    // Already catalogued (a refused token exchange, a crash-looping stdio server): as it is.
    if (error instanceof AttemptFailure && error.cause instanceof GatewayError) return error.cause;
    const details = { server: this.server, reason: error instanceof Error ? error.message : String(error) };
    if (!(error instanceof AttemptFailure)) return new GatewayError('MCP_2002', { details, cause: error });
    if (error.timedOut || error.outcome.status === 504) return new GatewayError('MCP_2001', { details, cause: error.cause });
    if (!error.outcome.reached || error.outcome.status === 503 || (error.outcome.networkCode !== undefined && error.outcome.status === undefined)) {
      return new GatewayError('MCP_2003', { details, cause: error.cause });
    }
    return new GatewayError('MCP_2002', { details, cause: error.cause });
  }
}
