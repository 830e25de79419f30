/**
 * Resilience for one upstream server (cockatiel): a deadline per attempt, retries with exponential
 * backoff and full jitter for transient failures only — and only when repeating is safe — and a
 * circuit breaker that turns a dead server into an immediate MCP_2003 instead of a slow failure.
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
import { withCallContext, type AttemptOutcome, type CallContext } from './call-context.js';

const TRANSIENT_STATUSES = new Set([429, 502, 503, 504]);
const TRANSIENT_NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

/** One failed attempt, classified once from what the transport saw. */
export class AttemptFailure extends Error {
  constructor(
    override readonly cause: unknown,
    readonly outcome: AttemptOutcome,
    readonly timedOut: boolean,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'AttemptFailure';
  }

  get transient(): boolean {
    if (this.timedOut) return true;
    if (this.outcome.status !== undefined) return TRANSIENT_STATUSES.has(this.outcome.status);
    return this.outcome.networkCode !== undefined && TRANSIENT_NETWORK_CODES.has(this.outcome.networkCode);
  }
}

export interface RunOptions {
  /** Repeating is safe: listing, or a tool annotated readOnlyHint / idempotentHint. */
  safeToRepeat: boolean;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  headers: Record<string, string>;
}

export class ServerResilience {
  private readonly breaker;
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
  }

  get isOpen(): boolean {
    return this.breaker.state === CircuitState.Open;
  }

  async run<T>(operation: (signal: AbortSignal) => Promise<T>, options: RunOptions): Promise<T> {
    const { retry: retryConfig } = this.policyConfig;
    const retryPolicy = retry(
      handleWhen((error) => error instanceof AttemptFailure && error.transient && (options.safeToRepeat || !error.outcome.reached)),
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
    retryPolicy.onRetry(() => this.metrics.upstreamRetries.inc({ server: this.server }));

    try {
      return await wrap(retryPolicy, this.breaker).execute(async ({ signal }) => {
        // The deadline aborts the attempt's HTTP request itself, so a hung server holds nothing.
        const deadline = AbortSignal.timeout(options.timeoutMs);
        const context: CallContext = { headers: options.headers };
        try {
          return await withCallContext(context, () => operation(AbortSignal.any([signal, deadline])));
        } catch (error) {
          throw new AttemptFailure(error, context.lastOutcome ?? { reached: true }, deadline.aborted && !signal.aborted);
        }
      }, options.signal);
    } catch (error) {
      throw this.toGatewayError(error, options.signal);
    }
  }

  private toGatewayError(error: unknown, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted === true) return signal.reason ?? error;
    if (error instanceof BrokenCircuitError) return new GatewayError('MCP_2003', { details: { server: this.server, reason: 'circuit open' } });
    const details = { server: this.server, reason: error instanceof Error ? error.message : String(error) };
    if (!(error instanceof AttemptFailure)) return new GatewayError('MCP_2002', { details, cause: error });
    if (error.timedOut || error.outcome.status === 504) return new GatewayError('MCP_2001', { details, cause: error.cause });
    if (!error.outcome.reached || error.outcome.status === 503 || (error.outcome.networkCode !== undefined && error.outcome.status === undefined)) {
      return new GatewayError('MCP_2003', { details, cause: error.cause });
    }
    return new GatewayError('MCP_2002', { details, cause: error.cause });
  }
}
