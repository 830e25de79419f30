/**
 * Human confirmation of destructive tool calls. A confirmation is bound to its owner and to a hash
 * of server + tool + arguments, lives in the store with a TTL, and is single use: the decision takes
 * it atomically, so two concurrent approvals execute the call once. Ids reveal nothing: anyone but
 * the owner is told it does not exist.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Identity } from '../auth/identity.js';
import { GatewayError } from '../errors.js';
import { actorOf, type AuditLog } from '../ops/audit.js';
import type { Metrics } from '../ops/metrics.js';
import { silentLogger, type StoreLogger } from '../store/logger.js';
import {
  confirmationRecordSchema,
  confirmationResultRecordSchema,
  decisionRecordSchema,
  decodeRecord,
  encodeRecord,
  KEYS,
  type ConfirmationRecord,
  type ConfirmationResultRecord,
} from '../store/records.js';
import type { Store } from '../store/types.js';
import { canonicalJson } from '../util/canonical-json.js';

export type ConfirmationDecision = 'approve' | 'reject';

/** A confirmation waiting for its owner; `runId`/`callId` are set when it pauses an agent run. */
export type PendingConfirmation = Omit<ConfirmationRecord, 'v'>;

const pendingKey = KEYS.confirmation;
/**
 * The pending record outlives its expiresAt by this much, so the supervisor of a paused run can still
 * take it when its expiry timer fires (were the store to drop it first, the run would wait forever).
 * Past expiresAt it is dead to decisions all the same.
 */
const EXPIRY_CLAIM_GRACE_MS = 30_000;
const decidedKey = KEYS.confirmationDecided;
const resultKey = KEYS.confirmationResult;

/** Where a confirmation stands, as its owner may learn it. */
export type ConfirmationStatus =
  | { readonly state: 'pending'; readonly pending: PendingConfirmation }
  | { readonly state: 'rejected' }
  /** `outcome` is absent while the approved call is still running (or when its outcome was lost). */
  | { readonly state: 'approved'; readonly outcome?: Omit<ConfirmationResultRecord, 'v' | 'sub'> };

export function bindingHash(server: string, tool: string, args: unknown): string {
  return createHash('sha256').update(canonicalJson({ server, tool, arguments: args })).digest('hex');
}

export function publicView(pending: PendingConfirmation): Record<string, unknown> {
  return { id: pending.id, server: pending.server, tool: pending.tool, arguments: pending.arguments, expiresAt: pending.expiresAt, runId: pending.runId, preview: pending.preview };
}

export class Confirmations {
  constructor(
    private readonly store: Store,
    private readonly ttlMs: number,
    private readonly metrics: Metrics,
    private readonly audit: AuditLog,
    private readonly log: StoreLogger = silentLogger,
  ) {}

  /** Every creation and decision is audited here, whichever path (REST, run, MCP) it came from. */
  private record(identity: Identity, pending: PendingConfirmation, decision: string, reason: string, outcome: string, requestId: string | undefined): void {
    this.audit.record({
      event: 'confirmation',
      ...actorOf(identity),
      server: pending.server,
      tool: pending.tool,
      arguments: pending.arguments,
      decision,
      reason,
      outcome,
      requestId,
      confirmationId: pending.id,
      runId: pending.runId,
    });
  }

  async create(
    identity: Identity,
    call: { server: string; tool: string; arguments: Record<string, unknown>; runId?: string; callId?: string; preview?: string | undefined },
    context: { reason: string; requestId?: string | undefined },
  ): Promise<PendingConfirmation> {
    const now = Date.now();
    const pending: PendingConfirmation = {
      id: randomUUID(),
      sub: identity.sub,
      server: call.server,
      tool: call.tool,
      arguments: call.arguments,
      bindingHash: bindingHash(call.server, call.tool, call.arguments),
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + this.ttlMs).toISOString(),
      ...(call.runId === undefined ? {} : { runId: call.runId, callId: call.callId }),
      ...(call.preview === undefined ? {} : { preview: call.preview }),
    };
    await this.store.set(pendingKey(pending.id), encodeRecord(pending), { ttlMs: this.ttlMs + EXPIRY_CLAIM_GRACE_MS });
    this.metrics.confirmations.inc({ event: 'created' });
    this.record(identity, pending, 'confirm', context.reason, 'pending', context.requestId);
    return pending;
  }

  /** The owner's pending confirmation; 404 for anyone else, for expired and for unknown ids alike. */
  async get(identity: Identity, id: string): Promise<PendingConfirmation> {
    const raw = await this.store.get(pendingKey(id));
    const parsed = decodeRecord(confirmationRecordSchema, raw, pendingKey(id), this.log);
    const pending = parsed !== undefined && Date.parse(parsed.expiresAt) > Date.now() ? parsed : undefined;
    if (pending === undefined || pending.sub !== identity.sub) {
      const decided = await this.store.get(decidedKey(id));
      if (decodeRecord(decisionRecordSchema, decided, decidedKey(id), this.log)?.sub === identity.sub) throw new GatewayError('CONFIRM_5002');
      throw new GatewayError('CONFIRM_5001');
    }
    return pending;
  }

  /**
   * Takes the decision: exactly one caller wins the atomic claim; a loser learns it was already decided.
   * The claim (the decided marker) is written before the pending record is removed, so a concurrent
   * reader on any replica sees either "pending" or "decided", never "unknown".
   * The binding hash is re-checked so what runs is exactly what was confirmed.
   */
  async decide(identity: Identity, id: string, decision: ConfirmationDecision, requestId?: string): Promise<PendingConfirmation> {
    await this.get(identity, id);
    const claimed = await this.store.set(decidedKey(id), encodeRecord({ sub: identity.sub, decision }), { onlyIfAbsent: true, ttlMs: this.ttlMs });
    if (!claimed) throw new GatewayError('CONFIRM_5002');
    const pending = decodeRecord(confirmationRecordSchema, await this.store.take(pendingKey(id)), pendingKey(id), this.log);
    if (pending === undefined) {
      // Withdrawn or expired since it was read: nothing was decided after all.
      await this.store.del(decidedKey(id));
      throw new GatewayError('CONFIRM_5001');
    }
    if (pending.bindingHash !== bindingHash(pending.server, pending.tool, pending.arguments)) {
      throw new GatewayError('CONFIRM_5001', { message: 'The confirmation does not match its call' });
    }
    this.metrics.confirmations.inc({ event: decision === 'approve' ? 'approved' : 'rejected' });
    this.record(identity, pending, decision, 'human decision', decision === 'approve' ? 'approved' : 'rejected', requestId);
    return pending;
  }

  /** Keeps what an approved call answered, so its owner can collect it later (e.g. over MCP). */
  async recordOutcome(identity: Identity, id: string, outcome: Omit<ConfirmationResultRecord, 'v' | 'sub'>): Promise<void> {
    await this.store.set(resultKey(id), encodeRecord({ sub: identity.sub, ...outcome }), { ttlMs: this.ttlMs });
  }

  /** The owner's view of a confirmation: pending, rejected, or approved with the call's outcome; 404 for anyone else. */
  async status(identity: Identity, id: string): Promise<ConfirmationStatus> {
    const decided = decodeRecord(decisionRecordSchema, await this.store.get(decidedKey(id)), decidedKey(id), this.log);
    if (decided === undefined || decided.sub !== identity.sub) return { state: 'pending', pending: await this.get(identity, id) };
    if (decided.decision === 'reject') return { state: 'rejected' };
    const stored = decodeRecord(confirmationResultRecordSchema, await this.store.get(resultKey(id)), resultKey(id), this.log);
    if (stored === undefined || stored.sub !== identity.sub) return { state: 'approved' };
    const { sub: _sub, ...outcome } = stored;
    return { state: 'approved', outcome };
  }

  /** Whether the store knows the confirmation, pending or decided (false once withdrawn, expired or lost). */
  async exists(id: string): Promise<boolean> {
    return (await this.store.get(pendingKey(id))) !== null || (await this.store.get(decidedKey(id))) !== null;
  }

  /** Withdraws a confirmation (its run was cancelled or expired); returns whether it was still pending. */
  async withdraw(id: string): Promise<boolean> {
    const raw = await this.store.take(pendingKey(id));
    if (raw !== null) this.metrics.confirmations.inc({ event: 'withdrawn' });
    return raw !== null;
  }
}
