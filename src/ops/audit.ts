/**
 * The audit trail: one structured record per tool call decision and outcome (who, which grant,
 * redacted arguments, decision, outcome, trace id), written as `audit: true` log lines so any log
 * pipeline can route them to durable storage.
 */
import type { FastifyBaseLogger } from 'fastify';

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
  event: 'tool_call' | 'confirmation';
  sub: string;
  username: string;
  roles: readonly string[];
  server: string;
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

export class AuditLog {
  constructor(private readonly log: FastifyBaseLogger) {}

  record(entry: AuditRecord): void {
    this.log.info({ audit: true, ...entry, arguments: redactArguments(entry.arguments) }, 'audit');
  }
}
