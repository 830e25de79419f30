/**
 * Per-call context for the pooled MCP clients. One SDK client serves every user of a server, but each
 * HTTP request must carry that call's identity assertion, request id and trace context; the SDK has
 * no per-request headers, so the transport's fetch reads them from AsyncLocalStorage. The same fetch
 * records how the last attempt failed (status, Retry-After, whether the request left at all) so the
 * retry policy can tell a safe retry from an unsafe one without parsing error messages.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface AttemptOutcome {
  /** HTTP status of a failed response, when one came back. */
  status?: number;
  retryAfterMs?: number;
  /** False only when the connection was refused: the request provably never reached the server. */
  reached: boolean;
  /** A network-level failure code such as ECONNRESET. */
  networkCode?: string;
}

export interface CallContext {
  headers: Record<string, string>;
  lastOutcome?: AttemptOutcome;
}

const storage = new AsyncLocalStorage<CallContext>();

export function withCallContext<T>(context: CallContext, run: () => Promise<T>): Promise<T> {
  return storage.run(context, run);
}

function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function networkCode(error: unknown): string | undefined {
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  return typeof cause?.code === 'string' ? cause.code : undefined;
}

/**
 * The fetch handed to every upstream transport. Requests outside a call context (the SDK's own
 * background traffic, such as a change subscription) carry the gateway's service identity.
 */
export function createContextualFetch(
  staticHeaders: Readonly<Record<string, string>>,
  backgroundHeaders: () => Promise<Record<string, string>>,
): typeof fetch {
  return async (input, init) => {
    const context = storage.getStore();
    const headers = new Headers(init?.headers);
    for (const [name, value] of Object.entries(staticHeaders)) headers.set(name, value);
    const callHeaders = context?.headers ?? (await backgroundHeaders());
    for (const [name, value] of Object.entries(callHeaders)) headers.set(name, value);
    try {
      const response = await fetch(input, { ...init, headers });
      if (context !== undefined && !response.ok) {
        context.lastOutcome = { status: response.status, retryAfterMs: retryAfterMs(response.headers.get('retry-after')), reached: true };
      }
      return response;
    } catch (error) {
      if (context !== undefined) {
        const code = networkCode(error);
        context.lastOutcome = { reached: code !== 'ECONNREFUSED', networkCode: code };
      }
      throw error;
    }
  };
}
