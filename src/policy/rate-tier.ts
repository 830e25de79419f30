/** Picks a user's rate-limit tier from their roles: the first configured tier they hold a role of, else the default tier. */
import type { RateTier } from '../config/schema.js';

export function tierFor(roles: readonly string[], tiers: readonly RateTier[]): RateTier {
  const tier =
    tiers.find((candidate) => candidate.roles.some((role) => roles.includes(role))) ?? tiers.find((candidate) => candidate.roles.length === 0);
  // The schema guarantees a default tier (no roles), so a valid config always finds one.
  if (tier === undefined) throw new Error('no default rate tier configured');
  return tier;
}
