/**
 * Rate limits (rate-limiter-flexible through the store, so every replica shares the counters):
 * per client IP for requests that fail authentication, per user for the API, and per user for AI
 * queries, each sized by the user's role tier. When the store is down each replica falls back to
 * its own in-memory limiter (the store's insurance limiter); that shows in the log and a metric.
 */
import type { FastifyBaseLogger, FastifyReply } from 'fastify';
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { GatewayConfig, RateTier } from '../config/schema.js';
import { GatewayError } from '../errors.js';
import type { Metrics } from '../ops/metrics.js';
import { RATE_LIMIT_PREFIXES } from '../store/records.js';
import type { Store } from '../store/types.js';

export type LimitKind = 'api' | 'query';

interface Verdict {
  limit: number;
  remaining: number;
  resetSec: number;
}

function headersFor(verdict: Verdict): Record<string, string> {
  return {
    'ratelimit-limit': String(verdict.limit),
    'ratelimit-remaining': String(Math.max(0, verdict.remaining)),
    'ratelimit-reset': String(verdict.resetSec),
  };
}

export class RateLimits {
  private readonly anonymous: RateLimiterAbstract;
  private readonly perTier = new Map<string, Record<LimitKind, RateLimiterAbstract>>();
  private readonly stopWatch: () => void;

  constructor(
    store: Store,
    private readonly config: GatewayConfig['limits'],
    private readonly metrics: Metrics,
    log: FastifyBaseLogger,
  ) {
    this.anonymous = store.createRateLimiter({ keyPrefix: RATE_LIMIT_PREFIXES.anonymous, points: config.anonymousRequestsPerMinute, durationSec: 60 });
    for (const tier of config.tiers) {
      this.perTier.set(tier.name, {
        api: store.createRateLimiter({ keyPrefix: RATE_LIMIT_PREFIXES.api(tier.name), points: tier.requestsPerMinute, durationSec: 60 }),
        query: store.createRateLimiter({ keyPrefix: RATE_LIMIT_PREFIXES.query(tier.name), points: tier.queriesPerHour, durationSec: 3600 }),
      });
    }
    this.stopWatch = store.onConnectionChange((connected) => {
      metrics.rateLimitLocalFallback.set(connected ? 0 : 1);
      if (connected) log.info('rate limits shared through the store again');
      else log.warn('store unreachable: rate limits are enforced per instance until it returns');
    });
  }

  close(): void {
    this.stopWatch();
  }

  /**
   * Counts a failed authentication against the client IP; past `anonymousRequestsPerMinute` failures
   * a minute the IP's further failures are answered 429 (RATE_4290) instead of 401, telling a client
   * that hammers with bad tokens to back off. Successful authentications are never counted or refused.
   */
  async recordAnonymousFailure(ip: string): Promise<void> {
    try {
      await this.anonymous.consume(ip);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) return; // the store failing must not turn a 401 into a 500
      const limit = this.config.anonymousRequestsPerMinute;
      throw this.refusal({ limit, remaining: 0, resetSec: Math.ceil(rejection.msBeforeNext / 1000) }, 'anonymous', 'none');
    }
  }

  /** Consumes one point of the user's tier limit; sets RateLimit-* headers, or throws RATE_4290 / CLAUDE-style refusals. */
  async consume(kind: LimitKind, sub: string, tier: RateTier, reply: FastifyReply): Promise<void> {
    const limiter = this.perTier.get(tier.name)?.[kind];
    if (limiter === undefined) throw new Error(`no limiter for tier ${tier.name}`);
    const limit = kind === 'api' ? tier.requestsPerMinute : tier.queriesPerHour;
    try {
      const result = await limiter.consume(sub);
      reply.headers(headersFor({ limit, remaining: result.remainingPoints, resetSec: Math.ceil(result.msBeforeNext / 1000) }));
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      throw this.refusal({ limit, remaining: 0, resetSec: Math.ceil(rejection.msBeforeNext / 1000) }, kind, tier.name);
    }
  }

  private refusal(verdict: Verdict, limit: string, tier: string): GatewayError {
    this.metrics.rateLimited.inc({ limit, tier });
    const retryAfter = String(Math.max(1, verdict.resetSec));
    return new GatewayError('RATE_4290', {
      details: { limit, tier, retryAfterSec: Number(retryAfter) },
      headers: { ...headersFor(verdict), 'retry-after': retryAfter },
    });
  }
}
