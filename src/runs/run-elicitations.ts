/**
 * Questions a tool server asks the owner of an agent run during one of the run's tool calls (MCP
 * elicitation, form mode). The replica driving the run holds the upstream's request open; the
 * question becomes a run event and a record in the store. The owner's answer may reach any replica:
 * it is checked there (owner, still waiting, content against the requested schema), claimed
 * atomically — the first of an answer and the timeout wins, so an answer is used once or refused —
 * and handed to the driving replica through the store: a wake-up on a channel, and a re-read every
 * `pollMs` in case the wake-up was lost. No answer in time: the server is told `cancel` and the run
 * goes on.
 */
import { randomUUID } from 'node:crypto';
import type { ElicitRequestFormParams, ElicitResult } from '@modelcontextprotocol/client';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { Identity } from '../auth/identity.js';
import { GatewayError } from '../errors.js';
import { actorOf, type AuditLog } from '../ops/audit.js';
import type { Metrics } from '../ops/metrics.js';
import type { StoreLogger } from '../store/logger.js';
import {
  CHANNELS,
  decodeRecord,
  encodeRecord,
  KEYS,
  runElicitationAnswerRecordSchema,
  runElicitationRecordSchema,
  type RunElicitationAnswerRecord,
  type RunElicitationRecord,
} from '../store/records.js';
import type { Store } from '../store/types.js';
import type { ElicitationSchema, RunEvent } from './events.js';

export type ElicitationAnswer = Omit<RunElicitationAnswerRecord, 'sub'>;

/** The tool call a question belongs to. */
export interface ElicitationCall {
  readonly runId: string;
  readonly callId: string;
  readonly server: string;
  readonly tool: string;
  readonly identity: Identity;
}

export interface RunElicitationsDependencies {
  store: Store;
  emit(runId: string, event: RunEvent): Promise<string>;
  audit: AuditLog;
  metrics: Metrics;
  timeoutMs: number;
  /** How often the waiting replica re-reads the store for an answer whose wake-up it missed. */
  pollMs: number;
  log: StoreLogger;
}

/** The pending record outlives the timeout by this much, so the waiting replica can still claim it then. */
const CLAIM_GRACE_MS = 30_000;

type Outcome = { kind: 'answer'; answer: ElicitationAnswer } | { kind: 'expired' } | { kind: 'withdrawn' };

const answerContent = runElicitationAnswerRecordSchema.shape.content;

export class RunElicitations {
  // One instance; each requested schema is compiled, used once and removed again (ajv caches by schema object).
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });

  constructor(private readonly deps: RunElicitationsDependencies) {}

  /** Asks the run's owner and waits for the answer, the timeout, or the call's end (`signal`). */
  async ask(call: ElicitationCall, params: ElicitRequestFormParams, signal: AbortSignal): Promise<ElicitResult> {
    const { store, timeoutMs } = this.deps;
    const id = randomUUID();
    const expiresAt = new Date(Date.now() + timeoutMs).toISOString();
    const requestedSchema = params.requestedSchema as ElicitationSchema;
    let wake: () => void = () => undefined;
    // Subscribed before the question exists, so its answer's wake-up cannot come too early.
    const unsubscribe = await store.subscribe(CHANNELS.runElicitation(id), () => wake()).catch(() => undefined);
    try {
      const record: RunElicitationRecord = { id, sub: call.identity.sub, runId: call.runId, callId: call.callId, server: call.server, tool: call.tool, requestedSchema: params.requestedSchema, expiresAt };
      await store.set(KEYS.runElicitation(id), encodeRecord(record), { ttlMs: timeoutMs + CLAIM_GRACE_MS });
      await this.deps.emit(call.runId, {
        type: 'elicitation_required',
        data: { elicitationId: id, callId: call.callId, server: call.server, tool: call.tool, message: params.message, requestedSchema, expiresAt },
      });
      const outcome = await this.wait(id, signal, (check) => (wake = check));
      const resolved = outcome.kind === 'answer' ? outcome.answer.action : outcome.kind;
      this.deps.metrics.runUpstreamRequests.inc({ kind: 'elicitation', outcome: resolved });
      const emitted = this.deps.emit(call.runId, { type: 'elicitation_resolved', data: { elicitationId: id, outcome: resolved } });
      if (outcome.kind === 'withdrawn') {
        // The call or run ended: nobody takes the answer; the event goes out behind whatever ends the run.
        emitted.catch(() => undefined);
        throw signal.reason instanceof Error ? signal.reason : new Error('the call ended before the question was answered');
      }
      await emitted;
      if (outcome.kind === 'expired') {
        this.record(call, id, 'expired', 'no answer in time');
        return { action: 'cancel' };
      }
      return outcome.answer.content === undefined ? { action: outcome.answer.action } : { action: outcome.answer.action, content: outcome.answer.content };
    } finally {
      await unsubscribe?.().catch(() => undefined);
    }
  }

  /**
   * The owner's answer, from any replica. Anyone else, an unknown id and a question no longer waiting
   * all get 404 (RUN_6004); a second answer 409 (RUN_6006); content that does not match the form 400 (RUN_6005).
   */
  async answer(identity: Identity, runId: string, id: string, answer: ElicitationAnswer, requestId: string): Promise<void> {
    const { store } = this.deps;
    const record = decodeRecord(runElicitationRecordSchema, await store.get(KEYS.runElicitation(id)), KEYS.runElicitation(id), this.deps.log);
    if (record === undefined || record.sub !== identity.sub || record.runId !== runId || Date.parse(record.expiresAt) <= Date.now()) {
      const answered = decodeRecord(runElicitationAnswerRecordSchema, await store.get(KEYS.runElicitationAnswer(id)), KEYS.runElicitationAnswer(id), this.deps.log);
      if (answered?.sub === identity.sub) throw new GatewayError('RUN_6006');
      throw new GatewayError('RUN_6004');
    }
    // A run whose replica stopped holds no call to take the answer (its readers end it with GATEWAY_9003).
    if ((await store.get(KEYS.runLease(runId))) === null) throw new GatewayError('RUN_6004');
    if (answer.action !== 'accept' && answer.content !== undefined) throw new GatewayError('RUN_6005', { message: 'Content goes only with action accept' });
    const content = answer.action === 'accept' ? this.checkContent(record.requestedSchema, answer.content ?? {}) : undefined;
    const claimed = await store.set(KEYS.runElicitationAnswer(id), encodeRecord({ sub: identity.sub, action: answer.action, ...(content === undefined ? {} : { content }) }), {
      onlyIfAbsent: true,
      ttlMs: this.deps.timeoutMs + CLAIM_GRACE_MS,
    });
    if (!claimed) throw new GatewayError('RUN_6006');
    if ((await store.take(KEYS.runElicitation(id))) === null) {
      // Expired or withdrawn since it was read: nothing was answered after all.
      await store.del(KEYS.runElicitationAnswer(id));
      throw new GatewayError('RUN_6004');
    }
    // A lost wake-up only delays the answer until the waiting replica's next re-read.
    await store.publish(CHANNELS.runElicitation(id), 'answered').catch(() => undefined);
    this.record({ ...record, identity }, id, answer.action, 'answered by the run owner', requestId, content === undefined ? undefined : Object.keys(content));
  }

  private checkContent(schema: Record<string, unknown>, content: Record<string, unknown>): NonNullable<ElicitationAnswer['content']> {
    // The form is flat: only the fields it asks for, with the types and limits it gives.
    const strictSchema = { ...schema, additionalProperties: false };
    let valid: boolean;
    let details: unknown;
    try {
      const validate = this.ajv.compile(strictSchema);
      valid = validate(content);
      details = (validate.errors ?? []).map((error) => ({ path: error.instancePath || '/', message: error.message ?? 'is invalid', keyword: error.keyword }));
    } catch (error) {
      throw new GatewayError('RUN_6005', { message: 'The tool server asked with a form the gateway cannot check', details: [{ path: '/', message: error instanceof Error ? error.message : String(error) }] });
    } finally {
      this.ajv.removeSchema(strictSchema);
    }
    const parsed = answerContent.safeParse(content);
    if (!valid || !parsed.success || parsed.data === undefined) throw new GatewayError('RUN_6005', { details });
    return parsed.data;
  }

  /** Waits for the answer, the timeout (claimed like an answer: the first wins) or `signal`. */
  private wait(id: string, signal: AbortSignal, onWake: (check: () => void) => void): Promise<Outcome> {
    const { store, timeoutMs, pollMs } = this.deps;
    return new Promise<Outcome>((resolve) => {
      let settled = false;
      const finish = (outcome: Outcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearInterval(poll);
        signal.removeEventListener('abort', onAbort);
        resolve(outcome);
      };
      const check = (): void => {
        void this.collect(id).then((answer) => answer !== undefined && finish({ kind: 'answer', answer }), () => undefined);
      };
      const onAbort = (): void => {
        // Withdrawn at once; a late answer then finds nothing to claim.
        void store.del(KEYS.runElicitation(id)).catch(() => undefined);
        finish({ kind: 'withdrawn' });
      };
      const timer = setTimeout(() => {
        void store
          .take(KEYS.runElicitation(id))
          .then(async (taken) => (taken === null ? this.collect(id) : undefined))
          .catch(() => undefined)
          .then((answer) => finish(answer === undefined ? { kind: 'expired' } : { kind: 'answer', answer }));
      }, timeoutMs);
      const poll = setInterval(check, pollMs);
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      onWake(check);
      check();
    });
  }

  /** The answer, once its claim is complete (the question taken from the store). */
  private async collect(id: string): Promise<ElicitationAnswer | undefined> {
    const { store } = this.deps;
    const answer = decodeRecord(runElicitationAnswerRecordSchema, await store.get(KEYS.runElicitationAnswer(id)), KEYS.runElicitationAnswer(id), this.deps.log);
    if (answer === undefined || (await store.get(KEYS.runElicitation(id))) !== null) return undefined;
    const { sub: _sub, ...rest } = answer;
    return rest;
  }

  private record(call: Pick<ElicitationCall, 'identity' | 'runId' | 'server' | 'tool'>, id: string, outcome: string, reason: string, requestId?: string, fields?: string[]): void {
    const { identity } = call;
    this.deps.audit.record({
      event: 'elicitation',
      ...actorOf(identity),
      server: call.server,
      tool: call.tool,
      // The answer's field names, never its values.
      arguments: { elicitationId: id, ...(fields === undefined ? {} : { fields }) },
      decision: outcome,
      reason,
      outcome,
      requestId,
      runId: call.runId,
    });
  }
}
