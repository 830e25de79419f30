/**
 * Sessions for 2025-era MCP clients on /mcp. A 2025 client that initializes gets an `Mcp-Session-Id`
 * and one server instance for the session (the SDK's Streamable HTTP transport), so what needs a
 * conversation works: `notifications/cancelled` reaches the call it cancels, the answer to a request
 * the gateway relays from an upstream (elicitation, sampling, roots) finds the call waiting for it,
 * `logging/setLevel` holds for the session, and a client may hold several streams at once.
 *
 * A session belongs to the user who opened it (anyone else is told it does not exist) and lives in
 * this replica's memory: with several replicas, the load balancer must send a session's requests to
 * the replica that created it (affinity on the `Mcp-Session-Id` header). A session unused for
 * `sessionIdleMs` is closed; its client starts a new one.
 */
import { randomUUID } from 'node:crypto';
import { isInitializeRequest, WebStandardStreamableHTTPServerTransport, type AuthInfo, type Server } from '@modelcontextprotocol/server';
import type { Identity } from '../auth/identity.js';
import { ERROR_CATALOGUE, type ErrorCode } from '../errors.js';

interface Session {
  readonly owner: string;
  /** The owner as of their latest request (their roles may change between tokens). */
  identity: Identity;
  readonly transport: WebStandardStreamableHTTPServerTransport;
  readonly server: Server;
  lastUsed: number;
}

export interface LegacySessionsOptions {
  readonly idleMs: number;
  readonly maxSessions: number;
  readonly onerror: (error: Error) => void;
}

/** A JSON-RPC error answer carrying a catalogued code (the /mcp endpoint speaks JSON-RPC). */
export function jsonRpcError(code: ErrorCode, rpcCode: number, id: unknown = null, status?: number): Response {
  const spec = ERROR_CATALOGUE[code];
  return Response.json({ jsonrpc: '2.0', id, error: { code: rpcCode, message: `${code}: ${spec.message}`, data: { code, retryable: spec.retryable } } }, { status: status ?? spec.status });
}

export class LegacySessions {
  private readonly sessions = new Map<string, Session>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly factory: () => Server,
    private readonly options: LegacySessionsOptions,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(options.idleMs, 60_000));
    this.sweeper.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  /** The server instance of every open session whose owner `include` accepts (to send each a notification of its own). */
  servers(include: (owner: Identity) => boolean): Server[] {
    return [...this.sessions.values()].filter((session) => include(session.identity)).map((session) => session.server);
  }

  /**
   * Serves a 2025-era request that belongs to a session (it names one, or it is an initialize);
   * undefined for one that does not, which the stateless fallback serves.
   */
  async fetch(request: Request, identity: Identity, authInfo: AuthInfo, parsedBody: unknown): Promise<Response | undefined> {
    const owner = identity.sub;
    const sessionId = request.headers.get('mcp-session-id');
    if (sessionId !== null) {
      const session = this.sessions.get(sessionId);
      // Another user's session answers exactly like an unknown one.
      if (session === undefined || session.owner !== owner) return jsonRpcError('MCP_2021', -32001);
      session.lastUsed = Date.now();
      session.identity = identity;
      return session.transport.handleRequest(request, { authInfo, parsedBody });
    }
    if (request.method !== 'POST' || !isInitializeRequest(parsedBody)) return undefined;
    if (this.sessions.size >= this.options.maxSessions) return jsonRpcError('MCP_2020', -32000, (parsedBody as { id?: unknown }).id ?? null);
    const server = this.factory();
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: randomUUID,
      onsessioninitialized: (id) => {
        this.sessions.set(id, { owner, identity, transport, server, lastUsed: Date.now() });
      },
      onsessionclosed: (id) => {
        this.sessions.delete(id);
      },
    });
    transport.onerror = this.options.onerror;
    await server.connect(transport);
    return transport.handleRequest(request, { authInfo, parsedBody });
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(sessions.map((session) => session.server.close().catch(() => undefined)));
  }

  private sweep(): void {
    const cutoff = Date.now() - this.options.idleMs;
    for (const [id, session] of this.sessions) {
      if (session.lastUsed >= cutoff) continue;
      this.sessions.delete(id);
      void session.server.close().catch(() => undefined);
    }
  }
}
