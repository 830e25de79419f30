/**
 * One upstream MCP server: a pooled official SDK client (protocol version negotiated so 2026-07-28,
 * 2025-era and 2024-11-05 servers all work) over its configured transport, reused across requests,
 * behind that server's resilience policy. A stale or lost session (the server restarted, a closed
 * connection or stdio pipe) leads to one new session and, where repeating is safe, one retry.
 * A stdio server is this replica's child process: started at boot, restarted with backoff when it
 * exits, and treated as unavailable while it crash-loops.
 */
import {
  Client,
  LOG_LEVEL_META_KEY,
  ProtocolError,
  ProtocolErrorCode,
  type CallToolResult,
  type ClientContext,
  type CreateMessageResult,
  type ElicitResult,
  type InputRequest,
  type InputResponse,
  type ListRootsResult,
  type Tool,
} from '@modelcontextprotocol/client';
import type { FastifyBaseLogger } from 'fastify';
import type { GatewayConfig, UpstreamServerConfig } from '../config/schema.js';
import { GatewayError } from '../errors.js';
import type { Metrics } from '../ops/metrics.js';
import { createContextualFetch, currentCallContext, type Caller, type CallRelay } from './call-context.js';
import type { ServerCredentials } from './credentials.js';
import { ServerResilience, type AttemptTools } from './resilience.js';
import { StdioSupervisor } from './stdio-supervisor.js';
import { createTransport } from './transports.js';

const CLIENT_INFO = { name: 'mcp-gateway', version: '0.1.0' };
/**
 * What the gateway's upstream clients declare: it relays elicitation (form), sampling and roots
 * requests to the client that made the call, which answers them or gets the upstream an error.
 */
const CLIENT_CAPABILITIES = { elicitation: { form: {} }, sampling: {}, roots: {} };

/** What an upstream tells the gateway outside any call: list changes, resource updates, a new connection. */
export interface UpstreamEvents {
  listChanged(kind: 'tools' | 'resources' | 'prompts'): void;
  resourceUpdated(uri: string): void;
  /** A new session or connection: subscriptions held on the old one are gone. */
  connected(): void;
}

/** A request as one caller: who, their headers, their cancellation. */
export interface UpstreamRequestOptions {
  caller: Caller;
  headers: Record<string, string>;
  signal?: AbortSignal | undefined;
}

/** What an operation on the pooled client gets: the attempt's signal and SDK timeout, and the caller's identity `_meta` (stdio). */
export interface ClientRequestTools {
  readonly options: { signal: AbortSignal; timeout: number };
  readonly meta: { _meta?: Record<string, unknown> };
}


export interface UpstreamCallOptions {
  caller: Caller;
  /** Request id and trace context of this call. */
  headers: Record<string, string>;
  signal?: AbortSignal | undefined;
  safeToRepeat: boolean;
  /** Progress the server reports for this call (it also extends the call's deadline). */
  onProgress?: ((progress: { progress: number; total?: number; message?: string }) => void) | undefined;
  /** Log messages and requests the server sends during the call go to this caller. */
  relay?: CallRelay | undefined;
}

export class UpstreamServer {
  readonly resilience: ServerResilience;
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  private readonly fetch: typeof fetch;
  private readonly supervisor: StdioSupervisor | undefined;
  private lastError: string | undefined;
  private closed = false;
  private readonly lifetime = new AbortController();
  /** Relays of the calls in flight (a stdio server's requests carry nothing that says which call they belong to). */
  private readonly relays = new Set<CallRelay>();

  constructor(
    readonly name: string,
    readonly config: UpstreamServerConfig,
    private readonly upstream: GatewayConfig['upstream'],
    private readonly metrics: Metrics,
    private readonly log: FastifyBaseLogger,
    readonly credentials: ServerCredentials,
    private readonly serviceCaller: Caller,
    private readonly events: UpstreamEvents,
  ) {
    this.resilience = new ServerResilience(name, upstream, metrics, log);
    this.fetch = createContextualFetch(config.headers, (caller) => credentials.headers(caller));
    if (config.transport === 'stdio') {
      this.supervisor = new StdioSupervisor(name, upstream.stdio, metrics, log, () => this.restart());
    }
  }

  get timeoutMs(): number {
    return this.config.timeoutMs ?? this.upstream.callTimeoutMs;
  }

  get maxTotalTimeoutMs(): number {
    return Math.max(this.timeoutMs, this.config.maxTotalTimeoutMs ?? this.upstream.maxTotalTimeoutMs);
  }

  /** stdio servers start with the gateway; HTTP servers are connected on first use (the catalogue lists them at once). */
  start(): void {
    if (this.supervisor !== undefined) void this.restart();
  }

  /** Reachability for readiness (a soft dependency): the last exchange worked and the breaker is closed. */
  status(): { ok: boolean; detail?: string; connecting?: boolean } {
    if (this.resilience.isOpen) return { ok: false, detail: 'circuit open' };
    const supervised = this.supervisor?.problem();
    if (supervised !== undefined) return { ok: false, detail: supervised };
    if (this.lastError !== undefined) return { ok: false, detail: this.lastError };
    return this.client !== undefined ? { ok: true } : { ok: false, detail: 'not connected yet', connecting: true };
  }

  async listTools(caller: Caller, signal?: AbortSignal): Promise<Tool[]> {
    return this.exchange((client, { signal: attemptSignal, deadline }) => client.listTools(undefined, { ...this.requestOptions(attemptSignal, deadline), cacheMode: 'refresh' }), {
      caller,
      headers: {},
      signal,
      safeToRepeat: true,
    }).then((result) => result.tools);
  }

  /**
   * Any request other than a tool call (listing, reading a resource, getting a prompt, completing,
   * subscribing), made as the caller on the pooled client behind the server's resilience. These
   * requests run nothing, so repeating them is safe.
   */
  async request<T>(options: UpstreamRequestOptions, operation: (client: Client, tools: ClientRequestTools) => Promise<T>): Promise<T> {
    const identityMeta = this.config.transport === 'stdio' && !options.caller.service ? await this.credentials.meta(options.caller) : undefined;
    return this.exchange((client, { signal, deadline }) => operation(client, { options: this.requestOptions(signal, deadline), meta: withMeta({ ...identityMeta }) }), { ...options, safeToRepeat: true });
  }

  async callTool(tool: string, args: Record<string, unknown>, options: UpstreamCallOptions): Promise<CallToolResult> {
    // A stdio server has no headers: the caller's identity travels in the request's _meta.
    const identityMeta = this.config.transport === 'stdio' ? await this.credentials.meta(options.caller) : undefined;
    const { relay } = options;
    if (relay !== undefined) this.relays.add(relay);
    try {
      return await this.exchangeCall(tool, args, identityMeta, options);
    } finally {
      if (relay !== undefined) this.relays.delete(relay);
    }
  }

  private exchangeCall(tool: string, args: Record<string, unknown>, identityMeta: Record<string, unknown> | undefined, options: UpstreamCallOptions): Promise<CallToolResult> {
    return this.exchange(
      (client, { signal, deadline }) =>
        client.callTool(
          { name: tool, arguments: args, ...withMeta({ ...identityMeta, ...logLevelMeta(client, options.relay) }) },
          {
            ...this.requestOptions(signal, deadline),
            onprogress: (progress) => {
              deadline.extend();
              options.onProgress?.(progress);
            },
          },
        ),
      options,
    );
  }

  /**
   * The relay of the call an upstream message belongs to. Over HTTP it arrives on that call's own
   * stream, inside the call's context. Over stdio nothing ties it to a call: it is attributed only
   * when exactly one call with a relay is in flight, so it can never reach another caller.
   */
  private relayOfCurrentCall(): CallRelay | undefined {
    const relay = currentCallContext()?.relay;
    if (relay !== undefined || this.supervisor === undefined || this.relays.size !== 1) return relay;
    return [...this.relays][0];
  }

  /**
   * A request the upstream makes during a call goes to that call's relay, or is refused. The call's
   * deadline stops while the answer is awaited: a person filling in a form is not a slow server.
   */
  private async relayed(request: InputRequest, ctx: ClientContext): Promise<InputResponse> {
    const relay = this.relayOfCurrentCall();
    if (relay === undefined) {
      throw new ProtocolError(ProtocolErrorCode.MethodNotFound, `${request.method} is not available here: no client that made a call can answer it`);
    }
    const release = currentCallContext()?.holdDeadline?.();
    try {
      return await relay.request(request, ctx.mcpReq.signal);
    } finally {
      release?.();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.lifetime.abort(new Error(`upstream ${this.name} closed`));
    this.supervisor?.stop();
    const pending = this.connecting;
    const client = this.client;
    this.client = undefined;
    this.connecting = undefined;
    // For a stdio server the SDK ends stdin, then sends SIGTERM, then SIGKILL after a grace period.
    await client?.close().catch(() => undefined);
    // A connection still being set up must not outlive the gateway (it would keep the process alive).
    await pending?.then((late) => late.close()).catch(() => undefined);
  }

  /**
   * The SDK's own timeout stays beyond the furthest the call's deadline can move; the gateway
   * enforces the deadline itself (across attempts, extended by progress) through the signal.
   */
  private requestOptions(signal: AbortSignal, deadline: AttemptTools['deadline']): { signal: AbortSignal; timeout: number } {
    return { signal, timeout: deadline.ceilingRemainingMs() + 1_000 };
  }

  private async exchange<T>(operation: (client: Client, tools: AttemptTools) => Promise<T>, options: UpstreamCallOptions): Promise<T> {
    try {
      const result = await this.resilience.run(
        async (tools) => {
          await this.credentials.prepare(options.caller);
          const client = await this.connected(tools.signal);
          try {
            return await operation(client, tools);
          } catch (error) {
            // A call its caller cancelled failed because of that, not because of the connection.
            if (tools.signal.aborted || !isConnectionLevel(error, client)) throw error;
            const sessionLost = isSessionLost(error, client);
            // A session the server no longer knows, or a dropped connection: start afresh.
            await this.discard(client, sessionLost ? 'session lost' : 'connection closed');
            if (!sessionLost) {
              // A stdio pipe that closed mid-call: like a reset connection (retried only where safe).
              const context = currentCallContext();
              if (context !== undefined && this.supervisor !== undefined) context.lastOutcome = { reached: true, networkCode: 'EPIPE' };
              throw error;
            }
            // The server refused the unknown session before running anything, so a new session may
            // repeat the request whatever the tool (MCP: the client then starts a new session).
            this.metrics.upstreamReconnects.inc({ server: this.name });
            return await operation(await this.connected(tools.signal), tools);
          }
        },
        {
          safeToRepeat: options.safeToRepeat,
          timeoutMs: this.timeoutMs,
          maxTotalTimeoutMs: this.maxTotalTimeoutMs,
          signal: options.signal,
          caller: options.caller,
          headers: options.headers,
          relay: options.relay,
        },
      );
      this.lastError = undefined;
      return result;
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
      throw error;
    }
  }

  /**
   * The shared client, connecting it if needed. The connection is shared by every caller, so it runs
   * under its own connect timeout; one caller's deadline or cancellation ends only that caller's wait.
   */
  private connected(signal: AbortSignal): Promise<Client> {
    if (this.client !== undefined) return Promise.resolve(this.client);
    if (this.connecting === undefined) {
      const refusal = this.supervisor?.refusal();
      if (refusal !== undefined) return Promise.reject(new GatewayError('MCP_2003', { details: { server: this.name, reason: refusal } }));
      this.connecting = this.connect().finally(() => {
        this.connecting = undefined;
      });
    }
    return untilAborted(this.connecting, signal);
  }

  /** (Re)starts a stdio server now; a failure schedules the next attempt with backoff. */
  private async restart(): Promise<void> {
    if (this.closed || this.client !== undefined) return;
    await this.connected(new AbortController().signal).catch(() => undefined);
  }

  private async connect(): Promise<Client> {
    // Each request of the handshake has connectTimeoutMs; closing the gateway abandons it at once.
    const signal = this.lifetime.signal;
    const client = new Client(CLIENT_INFO, {
      capabilities: CLIENT_CAPABILITIES,
      versionNegotiation: { mode: 'auto', probe: { timeoutMs: this.upstream.connectTimeoutMs } },
      listChanged: {
        tools: { autoRefresh: false, onChanged: (error) => error === null && this.events.listChanged('tools') },
        resources: { autoRefresh: false, onChanged: (error) => error === null && this.events.listChanged('resources') },
        prompts: { autoRefresh: false, onChanged: (error) => error === null && this.events.listChanged('prompts') },
      },
    });
    client.onerror = (error) => {
      // A stdio server writing something that is not JSON-RPC to stdout is worth a warning; HTTP noise is not.
      if (this.supervisor !== undefined) this.log.warn({ server: this.name, err: error }, 'stdio server: unreadable output or pipe error');
      else this.log.debug({ server: this.name, err: error }, 'upstream client error');
    };
    client.setRequestHandler('elicitation/create', async (request, ctx) => (await this.relayed(request, ctx)) as ElicitResult);
    client.setRequestHandler('sampling/createMessage', async (request, ctx) => (await this.relayed(request, ctx)) as CreateMessageResult);
    client.setRequestHandler('roots/list', async (request, ctx) => (await this.relayed(request, ctx)) as ListRootsResult);
    client.setNotificationHandler('notifications/message', (notification) => this.relayOfCurrentCall()?.log(notification.params));
    client.setNotificationHandler('notifications/resources/updated', (notification) => this.events.resourceUpdated(notification.params.uri));
    const transport = createTransport(this.name, this.config, { fetch: this.fetch, authProvider: this.credentials.authProvider }, this.log);
    // Background traffic set up while connecting (a change subscription) goes out as the gateway.
    try {
      await client.connect(transport, { signal, timeout: this.upstream.connectTimeoutMs });
    } catch (error) {
      await client.close().catch(() => undefined);
      if (this.supervisor !== undefined && !this.closed) this.supervisor.failedStart(error);
      throw error;
    }
    if (this.closed) {
      await client.close().catch(() => undefined);
      throw new Error(`upstream ${this.name} was closed while connecting`);
    }
    client.onclose = () => {
      // Not one we closed ourselves: the connection (or the stdio process) went away.
      if (this.client !== client) return;
      this.client = undefined;
      if (this.supervisor !== undefined && !this.closed) this.supervisor.exited();
    };
    if (client.getServerCapabilities()?.logging !== undefined && !isModern(client)) {
      // A 2025-era server has one log level per session, shared by every caller of this pooled
      // client: it sends everything, and each caller's relay keeps what its client asked for.
      await client.setLoggingLevel('debug', { timeout: this.upstream.connectTimeoutMs }).catch((error: unknown) => this.log.debug({ server: this.name, err: error }, 'upstream refused logging/setLevel'));
    }
    this.client = client;
    this.events.connected();
    this.supervisor?.started();
    this.log.info({ server: this.name, transport: this.config.transport, protocol: client.getNegotiatedProtocolVersion() }, 'connected to upstream MCP server');
    return client;
  }

  private async discard(client: Client, reason: string): Promise<void> {
    if (this.client === client) {
      this.client = undefined;
      this.log.info({ server: this.name, reason }, 'upstream session discarded; the next request opens a new one');
    }
    await client.close().catch(() => undefined);
  }
}

export function isModern(client: Client): boolean {
  const version = client.getNegotiatedProtocolVersion();
  return version !== undefined && version >= '2026-07-28';
}

/** On the 2026-07-28 era the log level travels with each request: the caller's own. */
function logLevelMeta(client: Client, relay: CallRelay | undefined): Record<string, unknown> {
  const level = relay?.logLevel();
  return level === undefined || !isModern(client) ? {} : { [LOG_LEVEL_META_KEY]: level };
}

function withMeta(meta: Record<string, unknown>): { _meta?: Record<string, unknown> } {
  return Object.keys(meta).length === 0 ? {} : { _meta: meta };
}

/** Waits for `promise` unless `signal` aborts first (the promise itself runs on). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  const reason = (): Error => (signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
  if (signal.aborted) return Promise.reject(reason());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(reason());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** The server no longer knows the session (it restarted): 404, or 400, on a request that carried a session id, or a "session not found" error. */
function isSessionLost(error: unknown, client: Client): boolean {
  const status = (error as { status?: unknown }).status;
  const hadSession = (client.transport as { sessionId?: string } | undefined)?.sessionId !== undefined;
  if (hadSession && (status === 404 || status === 400)) return true;
  return error instanceof Error && /session not found|no valid session|unknown session|invalid session/i.test(error.message);
}

function isConnectionLevel(error: unknown, client: Client): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return code === 'CONNECTION_CLOSED' || code === 'NOT_CONNECTED' || isSessionLost(error, client) || error instanceof TypeError;
}
