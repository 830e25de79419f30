/** The readiness matrix as a pure function: each row of the review's GAP-008 table, and the rules around it. */
import { describe, expect, it } from 'vitest';
import { readinessHttpStatus, verdict, type DependencyRole, type DependencyState } from '../../src/ops/health.js';

type States = Partial<Record<'store' | 'issuer' | 'revocations' | 'model' | 'hr' | 'finance', DependencyState>>;

function checks(states: States): Array<{ name: string; role: DependencyRole; state: DependencyState }> {
  const role: Record<keyof States, DependencyRole> = { store: 'store', issuer: 'identity-provider', revocations: 'revocations', model: 'model', hr: 'upstream', finance: 'upstream' };
  return (Object.keys(role) as Array<keyof States>).map((name) => ({ name, role: role[name], state: states[name] ?? 'up' }));
}

describe('verdict', () => {
  it.each<[string, States, string]>([
    ['everything up', {}, 'healthy'],
    ['one upstream down', { hr: 'down' }, 'healthy'],
    ['every upstream down', { hr: 'down', finance: 'down' }, 'degraded'],
    ['store down, mirror still fresh', { store: 'down' }, 'degraded'],
    ['store down, mirror stale under fail-open', { store: 'down', revocations: 'degraded' }, 'degraded'],
    ['store down, mirror stale under fail-closed', { store: 'down', revocations: 'down' }, 'unhealthy'],
    ['identity provider down, keys cached', { issuer: 'degraded' }, 'degraded'],
    ['no usable keys', { issuer: 'down' }, 'unhealthy'],
    ['store and identity provider both down', { store: 'down', issuer: 'degraded' }, 'unhealthy'],
    ['everything down', { store: 'down', issuer: 'degraded', revocations: 'degraded', model: 'down', hr: 'down', finance: 'down' }, 'unhealthy'],
    ['model refusing', { model: 'down' }, 'degraded'],
    ['an upstream still connecting at start-up', { hr: 'degraded' }, 'degraded'],
    ['one upstream connecting, the other down', { hr: 'degraded', finance: 'down' }, 'degraded'],
  ])('%s → %s', (_name, states, expected) => {
    const result = verdict(checks(states));
    expect(result.status).toBe(expected);
    expect(result.reasons.length > 0).toBe(expected !== 'healthy');
  });

  it('maps healthy and degraded to 200, the rest to 503', () => {
    expect(readinessHttpStatus('healthy')).toBe(200);
    expect(readinessHttpStatus('degraded')).toBe(200);
    expect(readinessHttpStatus('unhealthy')).toBe(503);
    expect(readinessHttpStatus('shutting-down')).toBe(503);
  });
});
