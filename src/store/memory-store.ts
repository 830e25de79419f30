import { RateLimiterMemory, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { ChannelRegistry } from './channel-registry.js';
import { StreamIdConflictError } from './errors.js';
import { silentLogger, type StoreLogger } from './logger.js';
import { compareStreamIds, formatStreamId, nextStreamId, parseStreamId, type StreamId } from './stream-id.js';
import { tailStream } from './tail.js';
import type {
  AppendOptions,
  ChosenEntry,
  MessageHandler,
  RateLimiterOptions,
  SetOptions,
  Store,
  StoreHealth,
  StreamEntry,
  TailOptions,
} from './types.js';

/** One key of the keyspace; like Redis, strings, expiring sets and streams share one namespace. */
type Slot =
  | { kind: 'string'; value: string; expiresAt: number | undefined }
  | { kind: 'expiring'; members: Map<string, number>; expiresAt: number | undefined }
  | { kind: 'stream'; entries: StreamEntries; last: StreamId; expiresAt: number | undefined };

type SlotOf<K extends Slot['kind']> = Extract<Slot, { kind: K }>;

/**
 * A stream's entries as three parallel arrays (id parts and data), not an object per entry: finished
 * runs' logs are most of what this store holds, and an object, a parsed id and an id string per
 * entry cost several times the data of a short event. Id strings are made when an entry is read.
 */
class StreamEntries {
  private ms: number[] = [];
  private seq: number[] = [];
  private data: string[] = [];

  get length(): number {
    return this.data.length;
  }

  push(id: StreamId, data: string): void {
    this.ms.push(id.ms);
    this.seq.push(id.seq);
    this.data.push(data);
  }

  /** Keeps the newest `count` entries. */
  keepLast(count: number): void {
    const drop = this.data.length - count;
    if (drop <= 0) return;
    this.ms = this.ms.slice(drop);
    this.seq = this.seq.slice(drop);
    this.data = this.data.slice(drop);
  }

  /** Index of the first entry whose id is greater than `after` (binary search). */
  firstAfter(after: StreamId): number {
    let low = 0;
    let high = this.data.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (compareStreamIds({ ms: this.ms[mid]!, seq: this.seq[mid]! }, after) <= 0) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  holds(id: StreamId): boolean {
    const index = this.firstAfter(id) - 1;
    return index >= 0 && this.ms[index] === id.ms && this.seq[index] === id.seq;
  }

  slice(start: number, end = this.data.length): StreamEntry[] {
    const entries: StreamEntry[] = [];
    for (let index = start; index < Math.min(end, this.data.length); index++) {
      entries.push({ id: formatStreamId({ ms: this.ms[index]!, seq: this.seq[index]! }), data: this.data[index]! });
    }
    return entries;
  }
}

export interface MemoryStoreOptions {
  /** How often expired keys are swept (they are also dropped lazily on access). */
  sweepIntervalMs?: number;
  logger?: StoreLogger;
}

const WRONG_TYPE = 'WRONGTYPE Operation against a key holding the wrong kind of value';
const INTEGER_PATTERN = /^-?\d+$/;

/** The embedded single-process store. */
export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  private readonly slots = new Map<string, Slot>();
  private readonly channels: ChannelRegistry;
  /** Append wake-ups for tails, per stream; kept apart from user channels so names never collide. */
  private readonly wakeups: ChannelRegistry;
  private readonly sweeper: NodeJS.Timeout;

  constructor(options: MemoryStoreOptions = {}) {
    const logger = options.logger ?? silentLogger;
    this.channels = new ChannelRegistry(logger);
    this.wakeups = new ChannelRegistry(logger);
    this.sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 10_000);
    this.sweeper.unref();
  }

  /** Registered message handlers, including tail wake-ups (leak checks and metrics). */
  get handlerCount(): number {
    return this.channels.handlerCount + this.wakeups.handlerCount;
  }

  async get(key: string): Promise<string | null> {
    return this.slotOf(key, 'string')?.value ?? null;
  }

  async set(key: string, value: string, options: SetOptions = {}): Promise<boolean> {
    if (options.onlyIfAbsent === true && this.live(key) !== undefined) return false;
    this.slots.set(key, { kind: 'string', value, expiresAt: expiryOf(options.ttlMs) });
    return true;
  }

  async del(key: string): Promise<void> {
    this.slots.delete(key);
  }

  async take(key: string): Promise<string | null> {
    const slot = this.slotOf(key, 'string');
    if (slot === undefined) return null;
    this.slots.delete(key);
    return slot.value;
  }

  async incr(key: string, options: { by?: number; ttlMs: number }): Promise<number> {
    const by = options.by ?? 1;
    const slot = this.slotOf(key, 'string');
    if (slot === undefined) {
      this.slots.set(key, { kind: 'string', value: String(by), expiresAt: expiryOf(options.ttlMs) });
      return by;
    }
    if (!INTEGER_PATTERN.test(slot.value)) throw new Error('ERR value is not an integer or out of range');
    const next = Number(slot.value) + by;
    slot.value = String(next);
    return next;
  }

  async addExpiring(key: string, member: string, expiresAtMs: number): Promise<void> {
    let slot = this.slotOf(key, 'expiring');
    if (slot === undefined) {
      slot = { kind: 'expiring', members: new Map(), expiresAt: undefined };
      this.slots.set(key, slot);
    }
    slot.members.set(member, expiresAtMs);
    // The key outlives its longest-lived member; a lowered expiry only makes it linger until listed.
    slot.expiresAt = Math.max(slot.expiresAt ?? -Infinity, expiresAtMs);
  }

  async listExpiring(key: string): Promise<Array<{ member: string; expiresAtMs: number }>> {
    const slot = this.slotOf(key, 'expiring');
    if (slot === undefined) return [];
    const now = Date.now();
    const live: Array<{ member: string; expiresAtMs: number }> = [];
    for (const [member, expiresAtMs] of slot.members) {
      if (expiresAtMs <= now) slot.members.delete(member);
      else live.push({ member, expiresAtMs });
    }
    if (slot.members.size === 0) this.slots.delete(key);
    // Same order as the Redis sorted set: by expiry, then by member.
    return live.sort((a, b) => a.expiresAtMs - b.expiresAtMs || (a.member < b.member ? -1 : a.member > b.member ? 1 : 0));
  }

  async publish(channel: string, message: string): Promise<void> {
    // Deliver on a later turn, as Redis would, so publishers never run subscriber code inline.
    setImmediate(() => this.channels.dispatch(channel, message));
  }

  async subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>> {
    return subscribeTo(this.channels, channel, handler);
  }

  async append(stream: string, data: string, options: AppendOptions): Promise<string> {
    const id = this.appendEntry(stream, options.id, data, options);
    setImmediate(() => this.wakeups.dispatch(stream, id));
    return id;
  }

  async appendMany(stream: string, entries: readonly ChosenEntry[], options: Omit<AppendOptions, 'id'>): Promise<void> {
    const last = entries.at(-1);
    if (last === undefined) return;
    try {
      for (const entry of entries) this.appendEntry(stream, entry.id, entry.data, options);
    } finally {
      // One wake-up for the batch, also when a conflict stopped it part-way (what was written is readable).
      setImmediate(() => this.wakeups.dispatch(stream, last.id));
    }
  }

  /** Writes one entry (see Store.append) and returns its id; the caller wakes the tails. */
  private appendEntry(stream: string, chosen: string | undefined, data: string, options: Omit<AppendOptions, 'id'>): string {
    let slot = this.slotOf(stream, 'stream');
    if (slot === undefined) {
      slot = { kind: 'stream', entries: new StreamEntries(), last: { ms: 0, seq: 0 }, expiresAt: undefined };
      this.slots.set(stream, slot);
    }
    const now = Date.now();
    let id: StreamId;
    if (chosen === undefined) {
      id = nextStreamId(slot.last, now);
    } else {
      id = parseStreamId(chosen);
      if (compareStreamIds(id, slot.last) <= 0) {
        // Already there: a retry of an append that went through. Otherwise another writer moved on.
        if (slot.entries.holds(id)) return chosen;
        throw new StreamIdConflictError(stream, chosen);
      }
    }
    slot.last = id;
    slot.entries.push(id, data);
    if (options.maxLen !== undefined) slot.entries.keepLast(options.maxLen);
    slot.expiresAt = now + options.ttlMs;
    return formatStreamId(id);
  }

  async lastEntryId(stream: string): Promise<string | undefined> {
    const entries = this.slotOf(stream, 'stream')?.entries;
    return entries === undefined || entries.length === 0 ? undefined : entries.slice(entries.length - 1)[0]?.id;
  }

  async readAfter(stream: string, afterId: string, count?: number): Promise<StreamEntry[]> {
    const after = parseStreamId(afterId);
    const entries = this.slotOf(stream, 'stream')?.entries;
    if (entries === undefined) return [];
    const start = entries.firstAfter(after);
    return entries.slice(start, count === undefined ? undefined : start + count);
  }

  tail(stream: string, afterId: string, options: TailOptions): AsyncIterable<StreamEntry> {
    return tailStream(
      {
        read: (after, count) => this.readAfter(stream, after, count),
        listen: async (onAppend) => subscribeTo(this.wakeups, stream, onAppend),
      },
      afterId,
      options,
    );
  }

  createRateLimiter(options: RateLimiterOptions): RateLimiterAbstract {
    return new RateLimiterMemory({ keyPrefix: options.keyPrefix, points: options.points, duration: options.durationSec });
  }

  async health(): Promise<StoreHealth> {
    return { ok: true, latencyMs: 0 };
  }

  /** The in-process store never disconnects, so there is nothing to report. */
  onConnectionChange(_listener: (connected: boolean) => void): () => void {
    return () => undefined;
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.slots.clear();
    this.channels.clear();
    this.wakeups.clear();
  }

  /** The key's slot unless it has expired (an expired one is dropped on the way). */
  private live(key: string): Slot | undefined {
    const slot = this.slots.get(key);
    if (slot === undefined || !isExpired(slot, Date.now())) return slot;
    this.slots.delete(key);
    return undefined;
  }

  private slotOf<K extends Slot['kind']>(key: string, kind: K): SlotOf<K> | undefined {
    const slot = this.live(key);
    if (slot === undefined) return undefined;
    if (slot.kind !== kind) throw new Error(WRONG_TYPE);
    return slot as SlotOf<K>;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, slot] of this.slots) {
      if (isExpired(slot, now)) this.slots.delete(key);
    }
  }
}

function expiryOf(ttlMs: number | undefined): number | undefined {
  return ttlMs === undefined ? undefined : Date.now() + ttlMs;
}

function isExpired(slot: Slot, now: number): boolean {
  return slot.expiresAt !== undefined && slot.expiresAt <= now;
}

/** Registers a fresh wrapper so each subscription is independent, even for the same handler. */
function subscribeTo(registry: ChannelRegistry, channel: string, handler: MessageHandler): () => Promise<void> {
  const own: MessageHandler = (message) => handler(message);
  registry.add(channel, own);
  return async () => {
    registry.remove(channel, own);
  };
}
