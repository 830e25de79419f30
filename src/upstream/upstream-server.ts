/**
 * One upstream MCP server: a pooled official SDK client (Streamable HTTP, protocol version
 * negotiated so 2026-07-28 and 2025-era servers both work), reused across requests and rebuilt by
 * itself after a connection-level failure, behind that server's resilience policy.
 */
import { Client, StreamableHTTPClientTransport, type CallToolResult, type Tool } from '@modelcontextprotocol/client';
import type { FastifyBaseLogger } from 'fastify';
import type { GatewayConfig, UpstreamServerConfig } from '../config/schema.js';
import type { Metrics } from '../ops/metrics.js';
import { createContextualFetch } from './call-context.js';
import { ServerResilience } from './resilience.js';

const CLIENT_INFO = { name: 'mcp-gateway', version: '0.1.0' };

export interface UpstreamCallOptions {
  /** Headers for this call: the identity assertion, request id, trace context. */
  headers: Record<string, string>;
  signal?: AbortSignal | undefined;
  safeToRepeat: boolean;
}

export class UpstreamServer {
  readonly resilience: ServerResilience;
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  private readonly fetch: typeof fetch;
  private lastError: string | undefined;
  private closed = false;

  constructor(
    readonly name: string,
    readonly config: UpstreamServerConfig,
    private readonly upstream: GatewayConfig['upstream'],
    metrics: Metrics,
    private readonly log: FastifyBaseLogger,
    /** Headers for traffic the gateway starts itself (listing, change subscriptions): a service identity. */
    backgroundHeaders: () => Promise<Record<string, string>>,
    private readonly onToolsChanged: () => void,
  ) {
    this.resilience = new ServerResilience(name, upstream, metrics, log);
    this.fetch = createContextualFetch(config.headers, backgroundHeaders);
  }

  get timeoutMs(): number {
    return this.config.timeoutMs ?? this.upstream.callTimeoutMs;
  }

  /** Reachability for readiness (a soft dependency): the last exchange worked and the breaker is closed. */
  status(): { ok: boolean; detail?: string } {
    if (this.resilience.isOpen) return { ok: false, detail: 'circuit open' };
    if (this.lastError !== undefined) return { ok: false, detail: this.lastError };
    return { ok: this.client !== undefined, detail: this.client === undefined ? 'not connected yet' : undefined };
  }

  async listTools(headers: Record<string, string>, signal?: AbortSignal): Promise<Tool[]> {
    return this.exchange((client, attemptSignal) => client.listTools(undefined, { signal: attemptSignal, timeout: this.timeoutMs, cacheMode: 'refresh' }), {
      headers,
      signal,
      safeToRepeat: true,
    }).then((result) => result.tools);
  }

  async callTool(tool: string, args: Record<string, unknown>, options: UpstreamCallOptions): Promise<CallToolResult> {
    return this.exchange(
      (client, attemptSignal) => client.callTool({ name: tool, arguments: args }, { signal: attemptSignal, timeout: this.timeoutMs }),
      options,
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    const pending = this.connecting;
    const client = this.client;
    this.client = undefined;
    this.connecting = undefined;
    await client?.close().catch(() => undefined);
    // A connection still being set up must not outlive the gateway (it would keep the process alive).
    await pending?.then((late) => late.close()).catch(() => undefined);
  }

  private async exchange<T>(operation: (client: Client, signal: AbortSignal) => Promise<T>, options: UpstreamCallOptions): Promise<T> {
    try {
      const result = await this.resilience.run(
        async (signal) => {
          const client = await this.connected(signal);
          try {
            return await operation(client, signal);
          } catch (error) {
            if (!isConnectionLevel(error)) throw error;
            const sessionLost = isSessionLost(error, client);
            // A session the server no longer knows, or a dropped connection: start afresh.
            await this.discard(client);
            if (!sessionLost) throw error;
            // The server refused the unknown session before running anything, so a new session may
            // repeat the request whatever the tool (MCP: the client then starts a new session).
            return await operation(await this.connected(signal), signal);
          }
        },
        { safeToRepeat: options.safeToRepeat, timeoutMs: this.timeoutMs, signal: options.signal, headers: options.headers },
      );
      this.lastError = undefined;
      return result;
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
      throw error;
    }
  }

  private connected(signal: AbortSignal): Promise<Client> {
    if (this.client !== undefined) return Promise.resolve(this.client);
    this.connecting ??= this.connect(signal).finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connect(signal: AbortSignal): Promise<Client> {
    const client = new Client(CLIENT_INFO, {
      versionNegotiation: { mode: 'auto', probe: { timeoutMs: this.upstream.connectTimeoutMs } },
      listChanged: {
        tools: {
          autoRefresh: false,
          onChanged: (error) => {
            if (error === null) this.onToolsChanged();
          },
        },
      },
    });
    client.onerror = (error) => this.log.debug({ server: this.name, err: error }, 'upstream client error');
    const transport = new StreamableHTTPClientTransport(new URL(this.config.url), { fetch: this.fetch });
    await client.connect(transport, { signal, timeout: this.upstream.connectTimeoutMs });
    if (this.closed) {
      await client.close().catch(() => undefined);
      throw new Error(`upstream ${this.name} was closed while connecting`);
    }
    this.client = client;
    this.log.info({ server: this.name, protocol: client.getNegotiatedProtocolVersion() }, 'connected to upstream MCP server');
    return client;
  }

  private async discard(client: Client): Promise<void> {
    if (this.client === client) this.client = undefined;
    await client.close().catch(() => undefined);
  }
}

/** A 404 on a request that carried a session id: a 2025-era server forgot the session (e.g. it restarted). */
function isSessionLost(error: unknown, client: Client): boolean {
  return (error as { status?: unknown }).status === 404 && client.transport?.sessionId !== undefined;
}

function isConnectionLevel(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  const status = (error as { status?: unknown }).status;
  return code === 'CONNECTION_CLOSED' || code === 'NOT_CONNECTED' || status === 404 || error instanceof TypeError;
}
