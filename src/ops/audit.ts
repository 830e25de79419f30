/**
 * The audit trail: one structured record per tool call decision and outcome (who, which grant,
 * redacted arguments, decision, outcome, trace id), written as `audit: true` log lines so any log
 * pipeline can route them to durable storage. The most recent records are also kept in a bounded
 * store stream (shared by every replica) for the admin view's audit query.
 */
import type { FastifyBaseLogger } from 'fastify';
import { KEYS } from '../store/records.js';
import type { Store } from '../store/types.js';

const AUDIT_STREAM = KEYS.audit;
const AUDIT_PAGE = 500;

const SECRET_KEY = /pass(word)?|secret|token|api[-_]?key|credential|ssn|iban|card/i;
const MAX_STRING = 256;

/** Values under secret-looking keys are masked and long strings cut, so the audit log never becomes a data leak. */
export function redactArguments(value: unknown, depth = 0): unknown {
  if (depth > 6) return '[truncated]';
  if (typeof value === 'string') return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value;
  if (Array.isArray(value)) return value.slice(0, 50).map((item) => redactArguments(item, depth + 1));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([key, item]) => [key, SECRET_KEY.test(key) ? '[redacted]' : redactArguments(item, depth + 1)]),
    );
  }
  return value;
}

export interface AuditRecord {
  /**
   * A tool call, a confirmation, what a tool server asked of an agent run's owner during a call
   * (`elicitation`, `sampling`), a resource read or a prompt got (through /mcp).
   */
  event: 'tool_call' | 'confirmation' | 'elicitation' | 'sampling' | 'resource_read' | 'prompt_get';
  sub: string;
  username: string;
  roles: readonly string[];
  server: string;
  /** The tool; for `resource_read` the upstream URI, for `prompt_get` the upstream prompt name. */
  tool: string;
  arguments: unknown;
  decision: string;
  reason: string;
  outcome: string;
  durationMs?: number;
  traceId?: string;
  requestId?: string;
  runId?: string;
  confirmationId?: string;
}

/** Who a record is about: the identity fields every record carries (never the e-mail, never a token). */
export type AuditActor = Pick<AuditRecord, 'sub' | 'username' | 'roles'>;

export function actorOf(identity: AuditActor): AuditActor {
  return { sub: identity.sub, username: identity.username, roles: identity.roles };
}

/** A record as kept in the store stream: when it was written, and its stream id. */
export type StoredAuditRecord = AuditRecord & { id: string; at: string };

export interface AuditQuery {
  /** Matches `sub` or `username` exactly. */
  user?: string;
  /** Matches the tool name, or `server.tool`. */
  tool?: string;
  decision?: string;
  limit: number;
}

export interface RecentAuditOptions {
  store: Store;
  /** Records kept (oldest trimmed first); 0 keeps none. */
  maxRecords: number;
  ttlMs: number;
}

export class AuditLog {
  /** Records of this turn of the event loop, written together right after it (see record). */
  private pending: Array<{ entry: AuditRecord; at: number }> = [];

  constructor(
    private readonly log: FastifyBaseLogger,
    private readonly recent?: RecentAuditOptions,
  ) {}

  /**
   * Takes a record; redaction and serialisation happen right after the current turn of the event
   * loop (setImmediate), off the path of the call being answered. The entry must not be changed afterwards.
   */
  record(entry: AuditRecord): void {
    if (this.pending.length === 0) setImmediate(() => this.flush());
    this.pending.push({ entry, at: Date.now() });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    for (const { entry, at } of batch) this.write(entry, at);
  }

  private write(entry: AuditRecord, at: number): void {
    const record = { ...entry, arguments: redactArguments(entry.arguments) };
    this.log.info({ audit: true, ...record }, 'audit');
    const recent = this.recent;
    if (recent === undefined || recent.maxRecords === 0) return;
    // The log line is the record of truth; the stream only serves the admin view, so a store outage is logged, not raised.
    recent.store
      .append(AUDIT_STREAM, JSON.stringify({ ...record, at: new Date(at).toISOString() }), { ttlMs: recent.ttlMs, maxLen: recent.maxRecords })
      .catch((error: unknown) => this.log.warn({ err: error }, 'audit record not kept for the admin view'));
  }

  /** The most recent kept records matching the query, newest first. */
  async query(query: AuditQuery): Promise<StoredAuditRecord[]> {
    const recent = this.recent;
    if (recent === undefined || recent.maxRecords === 0) return [];
    // The stream is capped near maxRecords (Redis trims approximately), so reading it whole stays bounded.
    const entries = [];
    for (let after = '0'; ; ) {
      const page = await recent.store.readAfter(AUDIT_STREAM, after, AUDIT_PAGE);
      entries.push(...page);
      if (page.length < AUDIT_PAGE) break;
      after = page[page.length - 1]?.id ?? after;
    }
    const matches: StoredAuditRecord[] = [];
    for (const entry of entries.reverse()) {
      const record = { ...(JSON.parse(entry.data) as AuditRecord & { at: string }), id: entry.id };
      if (query.user !== undefined && record.sub !== query.user && record.username !== query.user) continue;
      if (query.tool !== undefined && record.tool !== query.tool && `${record.server}.${record.tool}` !== query.tool) continue;
      if (query.decision !== undefined && record.decision !== query.decision) continue;
      matches.push(record);
      if (matches.length >= query.limit) break;
    }
    return matches;
  }
}
