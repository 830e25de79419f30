/**
 * The state store: one small interface, two implementations (in-memory for the embedded single
 * process, Redis for many replicas) that pass the same contract suite (test/integration/store.contract.test.ts).
 * Keys are given without the deployment prefix; implementations add it. Every key family and record
 * type lives in records.ts. A store that cannot be reached throws StoreUnavailableError (errors.ts).
 */
import type { RateLimiterAbstract } from 'rate-limiter-flexible';

export interface StreamEntry {
  /** Store-assigned, strictly increasing within one stream (Redis Stream ids: `<ms>-<seq>`). */
  readonly id: string;
  readonly data: string;
}

export interface SetOptions {
  /** Time to live in milliseconds; omitted = no expiry. */
  ttlMs?: number;
  /** Only set when the key does not exist (returns false when it did). */
  onlyIfAbsent?: boolean;
}

export interface AppendOptions {
  /** Expiry of the whole stream, refreshed on every append. */
  ttlMs: number;
  /** Approximate cap on entries kept (oldest trimmed first). */
  maxLen?: number;
  /**
   * The entry's id, chosen by the writer (above the stream's last id). Appending an id that is
   * already in the stream writes nothing and succeeds, so a retry after a lost reply is harmless;
   * an id at or below the last one that is not in the stream throws StreamIdConflictError.
   * Omitted: the store assigns the next id.
   */
  id?: string;
}

/** One entry of appendMany: its data under a writer-chosen id. */
export interface ChosenEntry {
  readonly id: string;
  readonly data: string;
}

export interface TailOptions {
  signal: AbortSignal;
  /** How often `onIdle` is called while nothing is appended (a tail never re-reads on a timer: appends wake it). */
  pollMs?: number;
  /**
   * Called every `pollMs` while nothing is appended: the caller's chance to check whether anyone
   * still writes to the stream. Throwing ends the tail with that error.
   */
  onIdle?: () => Promise<void>;
}

export interface RateLimiterOptions {
  keyPrefix: string;
  points: number;
  durationSec: number;
}

export type StoreHealth = { ok: true; latencyMs: number } | { ok: false; error: string };

export type MessageHandler = (message: string) => void;

export interface Store {
  readonly kind: 'memory' | 'redis';

  get(key: string): Promise<string | null>;
  /** Returns whether the value was written (false only with onlyIfAbsent and an existing key). */
  set(key: string, value: string, options?: SetOptions): Promise<boolean>;
  del(key: string): Promise<void>;
  /** Atomic get-and-delete: of two concurrent takes of one key, exactly one gets the value. */
  take(key: string): Promise<string | null>;
  /** Atomic increment; the TTL is set when the counter is created and not extended after. */
  incr(key: string, options: { by?: number; ttlMs: number }): Promise<number>;

  /** A set whose members each expire at their own time (revocations); listing never scans the keyspace. */
  addExpiring(key: string, member: string, expiresAtMs: number): Promise<void>;
  /** Live members with their expiry times; expired members are pruned. */
  listExpiring(key: string): Promise<Array<{ member: string; expiresAtMs: number }>>;

  publish(channel: string, message: string): Promise<void>;
  /**
   * Resolves once the subscription is active (rejects while the store is unreachable); the returned
   * function unsubscribes. An active subscription survives reconnects; messages published while
   * disconnected are lost, so pair it with a periodic resync.
   */
  subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>>;

  /** Appends to an append-only stream and returns the new entry's id. */
  append(stream: string, data: string, options: AppendOptions): Promise<string>;
  /**
   * Appends several entries under writer-chosen ids (ascending) in one round trip and one wake-up,
   * each exactly like `append` with `id`: already there is skipped, below the top and not there
   * throws StreamIdConflictError (the entries before it stay written).
   */
  appendMany(stream: string, entries: readonly ChosenEntry[], options: Omit<AppendOptions, 'id'>): Promise<void>;
  /** The id of the stream's last entry; undefined for an empty or missing stream. */
  lastEntryId(stream: string): Promise<string | undefined>;
  /** Entries strictly after `afterId` ('0' = from the start), oldest first. */
  readAfter(stream: string, afterId: string, count?: number): Promise<StreamEntry[]>;
  /**
   * Entries after `afterId`, then each new one as it is appended, until the signal aborts.
   * Waiting costs no connection per reader: appends publish a wake-up that the tail listens for.
   * A failed read (store unreachable) ends the iteration with that error; resume from the last id.
   */
  tail(stream: string, afterId: string, options: TailOptions): AsyncIterable<StreamEntry>;

  /**
   * A limiter shared by every replica using this store; the Redis one falls back to local memory when Redis is down.
   * Create one per limit and reuse it: the memory limiter keeps its counts in the limiter itself.
   */
  createRateLimiter(options: RateLimiterOptions): RateLimiterAbstract;

  health(): Promise<StoreHealth>;
  /** Observes connection-state changes (Redis up/down) for the revocation mirror and metrics. */
  onConnectionChange(listener: (connected: boolean) => void): () => void;
  close(): Promise<void>;
}
