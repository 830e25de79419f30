/**
 * Calls made through /mcp that may talk back to their client while they run. An upstream call runs
 * in the background of the tools/call that started it; what the upstream sends during it goes to the
 * client that made the call, and to no one else:
 *
 * - progress and log messages (at the level that client asked for) go out as notifications related
 *   to the client's request;
 * - a request the upstream makes (elicitation, sampling, roots) ends the current round with an
 *   `input_required` result; the client answers and retries (2026-07-28), or the SDK's legacy shim
 *   asks it over the request's stream (2025 era, in a session), and the answer goes back upstream;
 * - a client that cannot answer (it did not declare the capability) gets the upstream an error at once.
 *
 * A flow lives in this replica's memory between rounds, for at most `idleMs`; a client that does not
 * come back in time has its call cancelled upstream.
 */
import { randomUUID } from 'node:crypto';
import {
  ProtocolError,
  ProtocolErrorCode,
  type ClientCapabilities,
  type InputRequest,
  type InputResponse,
  type LoggingLevel,
  type LoggingMessageNotificationParams,
  type Notification,
  type ProgressToken,
} from '@modelcontextprotocol/server';
import { GatewayError } from '../errors.js';
import type { CallRelay } from '../upstream/call-context.js';

/** What the current round knows about the client: where notifications go and what it can answer. */
export interface ClientView {
  notify(notification: Notification): Promise<void>;
  readonly logLevel: LoggingLevel | undefined;
  readonly capabilities: ClientCapabilities | undefined;
  readonly progressToken: ProgressToken | undefined;
}

export type FlowStep<T> = { readonly kind: 'done'; readonly value: T } | { readonly kind: 'input'; readonly requests: Record<string, InputRequest> };

interface Asked {
  readonly request: InputRequest;
  resolve(response: InputResponse): void;
  reject(error: Error): void;
}

/** Log levels from least to most severe (RFC 5424, as MCP orders them). */
const LEVELS: readonly LoggingLevel[] = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];

function capabilityFor(method: string, capabilities: ClientCapabilities | undefined): boolean {
  if (method === 'elicitation/create') return capabilities?.elicitation !== undefined;
  if (method === 'sampling/createMessage') return capabilities?.sampling !== undefined;
  if (method === 'roots/list') return capabilities?.roots !== undefined;
  return false;
}

export class CallFlow<T> {
  readonly id = randomUUID();
  private readonly abort = new AbortController();
  private client: ClientView | undefined;
  /** The last client view: a request asked between rounds is checked against it. */
  private capabilities: ClientCapabilities | undefined;
  private logLevel: LoggingLevel | undefined;
  private readonly asked = new Map<string, Asked>();
  private readonly sent = new Map<string, Asked>();
  private outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  private wake: (() => void) | undefined;
  private idle: NodeJS.Timeout | undefined;
  private counter = 0;
  /** What the upstream asked for that the client could not answer, should the call fail because of it. */
  private refused: string | undefined;

  constructor(
    readonly owner: string,
    run: (flow: CallFlow<T>) => Promise<T>,
    private readonly idleMs: number,
    private readonly ended: (flow: CallFlow<T>) => void,
  ) {
    // Started on the next tick, so the flow is fully built (relay included) before the call uses it.
    void Promise.resolve()
      .then(() => run(this))
      .then(
        (value) => this.settle({ ok: true, value }),
        (error: unknown) => this.settle({ ok: false, error }),
      );
  }

  /** Aborts when the client goes away or stops answering: the upstream call is cancelled. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** The relay the upstream call reports to. */
  readonly relay: CallRelay = {
    logLevel: () => this.client?.logLevel ?? this.logLevel,
    log: (params: LoggingMessageNotificationParams) => {
      const client = this.client;
      const wanted = client?.logLevel;
      if (client === undefined || wanted === undefined || LEVELS.indexOf(params.level) < LEVELS.indexOf(wanted)) return;
      client.notify({ method: 'notifications/message', params }).catch(() => undefined);
    },
    request: (request: InputRequest, signal: AbortSignal) => {
      if (!capabilityFor(request.method, this.client?.capabilities ?? this.capabilities)) {
        this.refused = request.method;
        return Promise.reject(new ProtocolError(ProtocolErrorCode.MethodNotFound, `The MCP client that made this call does not support ${request.method}`));
      }
      return new Promise<InputResponse>((resolve, reject) => {
        const key = `input-${++this.counter}`;
        const onAbort = (): void => {
          this.asked.delete(key);
          this.sent.delete(key);
          reject(signal.reason instanceof Error ? signal.reason : new Error('cancelled'));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        const done = (): void => signal.removeEventListener('abort', onAbort);
        this.asked.set(key, {
          request,
          resolve: (response) => {
            done();
            resolve(response);
          },
          reject: (error) => {
            done();
            reject(error);
          },
        });
        this.wake?.();
      });
    },
  };

  /** Progress the upstream reports, relayed under the token of the client's current request. */
  progress(progress: { progress: number; total?: number; message?: string }): void {
    const client = this.client;
    if (client?.progressToken === undefined) return;
    client.notify({ method: 'notifications/progress', params: { progressToken: client.progressToken, ...progress } }).catch(() => undefined);
  }

  /**
   * One round: hands the client's answers (if any) to the upstream, then waits for the call to end
   * or to need the client again. The client going away (cancelled, stream closed) cancels the call.
   */
  async step(client: ClientView, responses: Record<string, unknown>, signal: AbortSignal): Promise<FlowStep<T>> {
    clearTimeout(this.idle);
    this.client = client;
    this.capabilities = client.capabilities;
    this.logLevel = client.logLevel;
    for (const [key, asked] of this.sent) {
      const response = responses[key];
      if (response !== null && typeof response === 'object') asked.resolve(response as InputResponse);
      else asked.reject(new ProtocolError(ProtocolErrorCode.InvalidRequest, `The client did not answer ${asked.request.method}`));
    }
    this.sent.clear();
    const onAbort = (): void => this.cancel(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      while (this.outcome === undefined && this.asked.size === 0) {
        if (signal.aborted) throw signal.reason;
        await new Promise<void>((resolve) => {
          const done = (): void => {
            signal.removeEventListener('abort', done);
            this.wake = undefined;
            resolve();
          };
          this.wake = done;
          signal.addEventListener('abort', done, { once: true });
        });
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.client = undefined;
    }
    if (this.outcome !== undefined) {
      this.ended(this);
      if (this.outcome.ok) return { kind: 'done', value: this.outcome.value };
      // A 2026-07-28 upstream cannot be told the client refused; the call fails here, and says why.
      if (this.refused !== undefined) throw new GatewayError('MCP_2023', { details: { request: this.refused }, cause: this.outcome.error });
      throw this.outcome.error;
    }
    const requests: Record<string, InputRequest> = {};
    for (const [key, asked] of this.asked) {
      requests[key] = asked.request;
      this.sent.set(key, asked);
    }
    this.asked.clear();
    this.idle = setTimeout(() => this.cancel(new Error('the client did not answer in time')), this.idleMs);
    this.idle.unref();
    return { kind: 'input', requests };
  }

  /** Cancels the upstream call (it receives its own cancellation) and ends the flow. */
  cancel(reason: unknown): void {
    clearTimeout(this.idle);
    const error = reason instanceof Error ? reason : new Error('cancelled');
    for (const asked of [...this.asked.values(), ...this.sent.values()]) asked.reject(error);
    this.asked.clear();
    this.sent.clear();
    if (!this.abort.signal.aborted) this.abort.abort(error);
    this.ended(this);
  }

  private settle(outcome: { ok: true; value: T } | { ok: false; error: unknown }): void {
    this.outcome = outcome;
    this.wake?.();
  }
}

/** The flows of this replica, each bound to the user who started it. */
export class CallFlows {
  private readonly flows = new Map<string, CallFlow<unknown>>();

  constructor(private readonly idleMs: number) {}

  start<T>(owner: string, run: (flow: CallFlow<T>) => Promise<T>): CallFlow<T> {
    const flow = new CallFlow<T>(owner, run, this.idleMs, (ended) => this.flows.delete(ended.id));
    this.flows.set(flow.id, flow as CallFlow<unknown>);
    return flow;
  }

  /** The owner's flow, or undefined (ended, expired, another user's, or on another replica). */
  get<T>(id: string, owner: string): CallFlow<T> | undefined {
    const flow = this.flows.get(id);
    return flow?.owner === owner ? (flow as CallFlow<T>) : undefined;
  }

  close(): void {
    for (const flow of [...this.flows.values()]) flow.cancel(new Error('the gateway is shutting down'));
  }
}
