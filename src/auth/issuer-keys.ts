/**
 * The identity provider's signing keys (its JWKS), kept current in the background and served from
 * the last good copy while the provider is unreachable.
 *
 * Hand-rolled around jose's `createLocalJWKSet` (which still selects and imports the keys) because
 * jose's `createRemoteJWKSet` cannot do what an outage and a hostile client need: once its cache is
 * older than `cacheMaxAge` it refuses every token while the provider is down (no stale-if-error);
 * every refetch, including one caused by a junk `kid`, starts its cooldown, so junk postpones a real
 * key rotation; and it cannot tell "this kid is unknown after a fresh fetch" (a bad token) from
 * "this kid is unknown and a refetch is cooling down" (maybe a rotation: retry shortly).
 *
 * Bounds: a key the provider withdraws stops counting within `refreshIntervalMs + timeoutMs` (the
 * next background refresh replaces the set, and `onKeysWithdrawn` lets the verifier forget tokens it
 * verified with it); cached keys keep serving for at most `maxStaleMs` after the last good fetch;
 * unknown kids cause at most one fetch per `cooldownMs`.
 */
import { createLocalJWKSet, errors as joseErrors, type FlattenedJWSInput, type JSONWebKeySet, type JWSHeaderParameters } from 'jose';
import { GatewayError } from '../errors.js';
import type { DependencyStatus } from '../ops/health.js';

export interface IssuerKeysOptions {
  jwksUri: string;
  timeoutMs: number;
  refreshIntervalMs: number;
  maxStaleMs: number;
  cooldownMs: number;
}

interface KeySet {
  resolve: ReturnType<typeof createLocalJWKSet>;
  /** kid → the key's JSON, to notice keys that were withdrawn or replaced. */
  keys: ReadonlyMap<string, string>;
  fetchedAtMs: number;
}

/** The first background retry after a failed refresh; doubles up to the refresh interval. */
const FIRST_RETRY_MS = 250;

function kidsOf(jwks: JSONWebKeySet): Map<string, string> {
  const keys = new Map<string, string>();
  for (const key of jwks.keys) if (typeof key.kid === 'string') keys.set(key.kid, JSON.stringify(key));
  return keys;
}

function describeError(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return 'timed out';
  return error instanceof Error ? error.message : String(error);
}

export class IssuerKeys {
  private current: KeySet | undefined;
  private inFlight: Promise<void> | undefined;
  /** When the last fetch of any cause started; unknown kids may cause another only `cooldownMs` later. */
  private lastAttemptMs: number | undefined;
  /** The outcome of the last background refresh: what readiness reports. */
  private backgroundError: string | undefined = 'not fetched yet';
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly options: IssuerKeysOptions,
    private readonly onKeysWithdrawn: (kids: ReadonlySet<string>) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** Fetches now, then every `refreshIntervalMs`; after a failure, sooner (exponential, up to the interval). */
  start(): void {
    this.stopped = false;
    void this.tick();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** One fetch at a time; callers arriving meanwhile share it. */
  refresh(): Promise<void> {
    this.inFlight ??= this.fetchKeys().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /** Readiness: only the background refreshes and the age of the keys count, never a token's fetch. */
  status(): DependencyStatus {
    const keys = this.usableKeys();
    if (keys === undefined) {
      const why = this.current === undefined ? 'no signing keys fetched yet' : `cached signing keys older than ${this.options.maxStaleMs} ms`;
      return { state: 'down', detail: `${why}; ${this.backgroundError ?? 'provider answers'}` };
    }
    const ageSec = Math.round((this.now() - keys.fetchedAtMs) / 1000);
    if (this.backgroundError !== undefined) {
      return { state: 'degraded', detail: `JWKS unreachable (${this.backgroundError}); serving ${keys.keys.size} cached keys, ${ageSec} s old` };
    }
    return { state: 'up', detail: `${keys.keys.size} keys, ${ageSec} s old` };
  }

  /** jose key resolver for `jwtVerify`. */
  readonly resolve = async (header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<Awaited<ReturnType<KeySet['resolve']>>> => {
    let keys = this.usableKeys();
    if (keys === undefined) {
      // Nothing usable (start-up, or an outage longer than maxStaleMs): try the provider, at most once per cooldown.
      if (this.inFlight !== undefined || this.mayFetch()) await this.refresh().catch(() => undefined);
      keys = this.usableKeys();
      if (keys === undefined) throw new GatewayError('AUTH_1006', { headers: { 'retry-after': String(this.retryAfterSec()) } });
    }
    if (header.kid === undefined || keys.keys.has(header.kid)) return keys.resolve(header, token);
    // An unknown kid: perhaps the provider rotated its keys, perhaps junk. Fetch unless one just happened.
    if (this.inFlight === undefined && !this.mayFetch()) {
      throw new GatewayError('AUTH_1008', { headers: { 'retry-after': String(this.retryAfterSec()) } });
    }
    try {
      await this.refresh();
    } catch (error) {
      throw new GatewayError('AUTH_1006', { cause: error, headers: { 'retry-after': String(this.retryAfterSec()) } });
    }
    keys = this.usableKeys();
    if (keys === undefined) throw new GatewayError('AUTH_1006');
    // Still unknown right after a fetch: not a key this provider signs with.
    if (!keys.keys.has(header.kid)) throw new joseErrors.JWKSNoMatchingKey();
    return keys.resolve(header, token);
  };

  private usableKeys(): KeySet | undefined {
    const keys = this.current;
    return keys !== undefined && this.now() - keys.fetchedAtMs <= this.options.maxStaleMs ? keys : undefined;
  }

  private mayFetch(): boolean {
    return this.lastAttemptMs === undefined || this.now() - this.lastAttemptMs >= this.options.cooldownMs;
  }

  private retryAfterSec(): number {
    const waitMs = this.lastAttemptMs === undefined ? 0 : this.options.cooldownMs - (this.now() - this.lastAttemptMs);
    return Math.max(1, Math.ceil(waitMs / 1000));
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    let delayMs = this.options.refreshIntervalMs;
    try {
      await this.refresh();
      this.backgroundError = undefined;
      this.failures = 0;
    } catch (error) {
      this.backgroundError = describeError(error);
      this.failures += 1;
      delayMs = Math.min(this.options.refreshIntervalMs, FIRST_RETRY_MS * 2 ** Math.min(this.failures - 1, 16));
    }
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), delayMs);
    this.timer.unref();
  }

  private async fetchKeys(): Promise<void> {
    this.lastAttemptMs = this.now();
    const response = await fetch(this.options.jwksUri, {
      headers: { accept: 'application/json' },
      redirect: 'error',
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    if (!response.ok) throw new Error(`JWKS endpoint answered HTTP ${response.status}`);
    const body: unknown = await response.json();
    // createLocalJWKSet checks the shape (a `keys` array of objects) and throws JWKSInvalid otherwise.
    const resolve = createLocalJWKSet(body as JSONWebKeySet);
    const jwks = resolve.jwks();
    const keys = kidsOf(jwks);
    const previous = this.current?.keys;
    this.current = { resolve, keys, fetchedAtMs: this.now() };
    if (previous !== undefined) {
      const withdrawn = new Set([...previous].filter(([kid, json]) => keys.get(kid) !== json).map(([kid]) => kid));
      if (withdrawn.size > 0) this.onKeysWithdrawn(withdrawn);
    }
  }
}
