/**
 * Token revocation with a local mirror. Revocations live in the store as an expiring set (each entry
 * expires when the tokens it covers would) and are pushed to every replica over pub/sub; a periodic
 * resync repairs anything a replica missed while disconnected. The per-request check reads only the
 * in-process mirror, so it costs no network round trip.
 *
 * When the store is unreachable the mirror goes stale. `fail-open` keeps serving from it;
 * `fail-closed` refuses requests once it is older than `maxStalenessMs`.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { GatewayConfig } from '../config/schema.js';
import { GatewayError, storeUnavailable } from '../errors.js';
import type { DependencyStatus } from '../ops/health.js';
import type { Metrics } from '../ops/metrics.js';
import { CHANNELS, KEYS, revocationMessageSchema, decodeRecord, encodeRecord } from '../store/records.js';
import type { Store } from '../store/types.js';
import type { Identity } from './identity.js';

export type Revocation = { kind: 'jti'; jti: string } | { kind: 'sid'; sid: string } | { kind: 'sub'; sub: string; beforeSec: number };

const REVOCATIONS_KEY = KEYS.revocations;
const REVOCATIONS_CHANNEL = CHANNELS.revocations;

/** Store member: `jti:<id>`, `sid:<id>` or `sub:<beforeSec>:<sub>` (sub last, since it may contain colons). */
export function encodeRevocation(revocation: Revocation): string {
  switch (revocation.kind) {
    case 'jti':
      return `jti:${revocation.jti}`;
    case 'sid':
      return `sid:${revocation.sid}`;
    case 'sub':
      return `sub:${revocation.beforeSec}:${revocation.sub}`;
  }
}

export function decodeRevocation(member: string): Revocation | undefined {
  const separator = member.indexOf(':');
  const kind = member.slice(0, separator);
  const rest = member.slice(separator + 1);
  if (separator < 0 || rest === '') return undefined;
  if (kind === 'jti') return { kind, jti: rest };
  if (kind === 'sid') return { kind, sid: rest };
  if (kind === 'sub') {
    const colon = rest.indexOf(':');
    const beforeSec = Number(rest.slice(0, colon));
    const sub = rest.slice(colon + 1);
    return colon > 0 && Number.isFinite(beforeSec) && sub !== '' ? { kind, sub, beforeSec } : undefined;
  }
  return undefined;
}

export class RevocationMirror {
  private readonly jtis = new Map<string, number>();
  private readonly sids = new Map<string, number>();
  /** sub → the latest "issued before" cut-off and when that entry expires. */
  private readonly subs = new Map<string, { beforeSec: number; expiresAtMs: number }>();
  private lastSyncMs: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => Promise<void>) | undefined;
  private stopConnectionWatch: (() => void) | undefined;
  private readonly startedAtMs: number;

  constructor(
    private readonly store: Store,
    private readonly config: GatewayConfig['revocation'],
    private readonly metrics: Metrics,
    private readonly log: FastifyBaseLogger,
    private readonly now: () => number = Date.now,
  ) {
    this.startedAtMs = now();
  }

  async start(): Promise<void> {
    try {
      this.unsubscribe = await this.store.subscribe(REVOCATIONS_CHANNEL, (message) => this.applyMessage(message));
    } catch (error) {
      this.log.warn({ err: error }, 'revocation push channel unavailable; relying on resync');
    }
    this.stopConnectionWatch = this.store.onConnectionChange((connected) => {
      if (connected) void this.resync();
    });
    await this.resync();
    this.timer = setInterval(() => void this.resync(), this.config.resyncIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.stopConnectionWatch?.();
    await this.unsubscribe?.().catch(() => undefined);
  }

  /** Milliseconds since the mirror last matched the store (since start-up if it never did). */
  stalenessMs(): number {
    return this.now() - (this.lastSyncMs ?? this.startedAtMs);
  }

  isStale(): boolean {
    return this.stalenessMs() > this.config.maxStalenessMs;
  }

  /**
   * For readiness: a mirror that never loaded knows no revocation at all, so that replica must not
   * take traffic (`down`); a stale one is `down` under fail-closed (it refuses every request) and
   * `degraded` under fail-open (it serves, enforcing what it knows).
   */
  status(): DependencyStatus {
    const detail = `mirror ${Math.round(this.stalenessMs())} ms old (${this.config.onStoreError})`;
    if (this.lastSyncMs === undefined) return { state: 'down', detail: `never loaded from the store; ${detail}` };
    if (!this.isStale()) return { state: 'up', detail };
    return { state: this.config.onStoreError === 'fail-closed' ? 'down' : 'degraded', detail };
  }

  async revoke(revocation: Revocation, expiresAtMs: number): Promise<void> {
    const member = encodeRevocation(revocation);
    try {
      await this.store.addExpiring(REVOCATIONS_KEY, member, expiresAtMs);
    } catch (error) {
      // Not recorded anywhere yet: a retryable 503 tells the caller (an admin, or the IdP's logout) to try again.
      throw storeUnavailable(error);
    }
    this.apply(revocation, expiresAtMs);
    this.metrics.revocations.inc({ kind: revocation.kind });
    // The push is best effort: replicas that miss it pick the entry up at their next resync.
    await this.store.publish(REVOCATIONS_CHANNEL, encodeRecord({ member, expiresAtMs })).catch((error: unknown) => {
      this.log.warn({ err: error }, 'revocation push failed; replicas will see it at their next resync');
    });
  }

  /** Throws AUTH_1003 for a revoked token, or AUTH_1005 when fail-closed and the mirror is too stale. */
  check(identity: Identity): void {
    if (this.config.onStoreError === 'fail-closed' && this.isStale()) throw new GatewayError('AUTH_1005');
    const nowMs = this.now();
    const live = (expiresAtMs: number | undefined): boolean => expiresAtMs !== undefined && expiresAtMs > nowMs;
    if (identity.jti !== undefined && live(this.jtis.get(identity.jti))) throw new GatewayError('AUTH_1003');
    if (identity.sid !== undefined && live(this.sids.get(identity.sid))) throw new GatewayError('AUTH_1003');
    const cutOff = this.subs.get(identity.sub);
    // A token without `iat` cannot prove it was issued after the cut-off, so it counts as revoked.
    if (cutOff !== undefined && live(cutOff.expiresAtMs) && (identity.iat ?? 0) < cutOff.beforeSec) throw new GatewayError('AUTH_1003');
  }

  async resync(): Promise<void> {
    try {
      const entries = await this.store.listExpiring(REVOCATIONS_KEY);
      // Revocations are never withdrawn, only expire: merging is correct and keeps pushes that raced the read.
      for (const { member, expiresAtMs } of entries) {
        const revocation = decodeRevocation(member);
        if (revocation !== undefined) this.apply(revocation, expiresAtMs);
      }
      this.prune();
      await this.restoreMissing(new Set(entries.map((entry) => entry.member)));
      if (this.lastSyncMs !== undefined && this.isStale()) this.log.info('revocation mirror back in sync with the store');
      this.lastSyncMs = this.now();
    } catch (error) {
      this.log.warn({ err: error, stalenessMs: this.stalenessMs(), policy: this.config.onStoreError }, 'revocation resync failed');
    } finally {
      this.metrics.revocationStaleness.set(this.stalenessMs() / 1000);
    }
  }

  /**
   * A store that lost entries this mirror still holds (a Redis restarted without persistence, a
   * failover to a replica that lagged) gets them back, so a replica started afterwards — whose mirror
   * starts from the store — still refuses those tokens. Writing back is idempotent, and since entries
   * are never withdrawn, one the store lacks can only have been lost.
   */
  private async restoreMissing(inStore: ReadonlySet<string>): Promise<void> {
    const missing = this.entries().filter(({ member }) => !inStore.has(member));
    if (missing.length === 0) return;
    for (const { member, expiresAtMs } of missing) await this.store.addExpiring(REVOCATIONS_KEY, member, expiresAtMs);
    this.log.warn({ restored: missing.length }, 'the store had lost revocations this replica holds (restarted without persistence?); wrote them back');
  }

  /** Every live entry of the mirror, as store members. */
  private entries(): Array<{ member: string; expiresAtMs: number }> {
    const nowMs = this.now();
    const entries: Array<{ member: string; expiresAtMs: number }> = [];
    for (const [jti, expiresAtMs] of this.jtis) if (expiresAtMs > nowMs) entries.push({ member: encodeRevocation({ kind: 'jti', jti }), expiresAtMs });
    for (const [sid, expiresAtMs] of this.sids) if (expiresAtMs > nowMs) entries.push({ member: encodeRevocation({ kind: 'sid', sid }), expiresAtMs });
    for (const [sub, { beforeSec, expiresAtMs }] of this.subs) {
      if (expiresAtMs > nowMs) entries.push({ member: encodeRevocation({ kind: 'sub', sub, beforeSec }), expiresAtMs });
    }
    return entries;
  }

  private applyMessage(message: string): void {
    const parsed = decodeRecord(revocationMessageSchema, message, 'revocation message', this.log);
    const revocation = parsed === undefined ? undefined : decodeRevocation(parsed.member);
    if (parsed !== undefined && revocation !== undefined) this.apply(revocation, parsed.expiresAtMs);
  }

  private apply(revocation: Revocation, expiresAtMs: number): void {
    const keepLater = (map: Map<string, number>, key: string): void => {
      map.set(key, Math.max(map.get(key) ?? 0, expiresAtMs));
    };
    if (revocation.kind === 'jti') keepLater(this.jtis, revocation.jti);
    else if (revocation.kind === 'sid') keepLater(this.sids, revocation.sid);
    else {
      const existing = this.subs.get(revocation.sub);
      if (existing === undefined || existing.beforeSec <= revocation.beforeSec) {
        this.subs.set(revocation.sub, { beforeSec: revocation.beforeSec, expiresAtMs: Math.max(expiresAtMs, existing?.expiresAtMs ?? 0) });
      }
    }
  }

  private prune(): void {
    const nowMs = this.now();
    for (const map of [this.jtis, this.sids]) {
      for (const [key, expiresAtMs] of map) if (expiresAtMs <= nowMs) map.delete(key);
    }
    for (const [key, entry] of this.subs) if (entry.expiresAtMs <= nowMs) this.subs.delete(key);
  }
}
