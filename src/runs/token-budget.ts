/**
 * Model-token budgets per user per day, sized by role tier and counted from the usage the model API
 * reports. A run that would start with the day's budget spent is refused.
 */
import type { Identity } from '../auth/identity.js';
import type { RateTier } from '../config/schema.js';
import { GatewayError } from '../errors.js';
import { KEYS } from '../store/records.js';
import type { Store } from '../store/types.js';

const DAY_MS = 86_400_000;

function dayKey(sub: string, nowMs: number): string {
  return KEYS.tokens(sub, new Date(nowMs).toISOString().slice(0, 10));
}

export class TokenBudget {
  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  async used(sub: string): Promise<number> {
    return Number((await this.store.get(dayKey(sub, this.now()))) ?? 0);
  }

  async assertAvailable(identity: Identity, tier: RateTier): Promise<void> {
    const used = await this.used(identity.sub);
    if (used >= tier.tokensPerDay) {
      const resetSec = Math.ceil((DAY_MS - (this.now() % DAY_MS)) / 1000);
      throw new GatewayError('CLAUDE_3003', { details: { used, budget: tier.tokensPerDay, tier: tier.name }, headers: { 'retry-after': String(resetSec) } });
    }
  }

  async record(sub: string, tokens: number): Promise<void> {
    if (tokens > 0) await this.store.incr(dayKey(sub, this.now()), { by: tokens, ttlMs: 2 * DAY_MS });
  }
}
