import { Redis, type ChainableCommander, type Result } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { ChannelRegistry } from './channel-registry.js';
import { StoreUnavailableError, StreamIdConflictError } from './errors.js';
import { silentLogger, type StoreLogger } from './logger.js';
import { connectRedis, type ConnectionRole, type RedisClient, type RedisStoreConfig } from './redis-connection.js';
import { parseStreamId } from './stream-id.js';
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

export interface RedisStoreOptions {
  logger?: StoreLogger;
  /** Bound on the PING of `health()`. */
  healthTimeoutMs?: number;
}

/** The field under which stream entries keep their data. */
const DATA_FIELD = 'data';

/**
 * Adds a member scored by its expiry and keeps the key itself alive until its longest-lived member
 * expires, in one atomic step (a read-then-PEXPIREAT from the client could shorten it under a race).
 */
const ADD_EXPIRING_LUA = `
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], last[2])
return 1
`;

/**
 * Appends entries with writer-chosen ids, idempotently, and publishes one wake-up for them: all in
 * one round trip. The same id twice writes once (a retry after a lost reply); an id below the
 * stream's top that is not in the stream is a conflict with another writer (the entries before it
 * stay written and are announced). KEYS[1] stream; ARGV: ttlMs, maxLen ('' for none), wake-up
 * channel, then id and data of each entry. Returns the number of entries written.
 */
const APPEND_MANY_LUA = `
local written, last, conflict = 0, nil, nil
for i = 4, #ARGV, 2 do
  local added
  if ARGV[2] == '' then
    added = redis.pcall('XADD', KEYS[1], ARGV[i], 'data', ARGV[i + 1])
  else
    added = redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], ARGV[i], 'data', ARGV[i + 1])
  end
  if type(added) == 'table' and added.err then
    if #redis.call('XRANGE', KEYS[1], ARGV[i], ARGV[i]) == 0 then
      conflict = added.err
      break
    end
  else
    written = written + 1
    last = ARGV[i]
  end
end
if written > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  redis.call('PUBLISH', ARGV[3], last)
end
if conflict then return redis.error_reply('CONFLICT ' .. conflict) end
return written
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** APPEND_MANY_LUA, defined on the commands connection (EVALSHA, loaded on first use). */
    gatewayAppendMany(stream: string, ttlMs: number, maxLen: string, wakeChannel: string, ...idsAndData: string[]): Result<number, Context>;
  }
}

/**
 * The store shared by every replica. Two connections per process, however many subscribers and
 * stream readers there are: `commands`, and one `subscriber` that carries every channel.
 *
 * Tails never block a connection (no XREAD BLOCK): each append PUBLISHes a wake-up on a per-stream
 * channel, and all tails of a stream in this process share ONE subscription to it through the
 * channel registry. 10,000 waiting SSE readers therefore cost 10,000 in-process callbacks, not
 * 10,000 Redis connections, and no command at all while nothing is appended; wake-ups lost while
 * the subscriber was disconnected are made up by waking every tail once it is back.
 */
export class RedisStore implements Store {
  readonly kind = 'redis' as const;
  private readonly commands: RedisClient;
  private readonly subscriber: RedisClient;
  private readonly channels: ChannelRegistry;
  /** SUBSCRIBE commands in flight, so that later subscribers of the same channel wait for them too. */
  private readonly pendingSubscribes = new Map<string, Promise<unknown>>();
  private readonly connectionListeners = new Set<(connected: boolean) => void>();
  private readonly logger: StoreLogger;
  private readonly healthTimeoutMs: number;
  private readonly channelPrefix: string;
  private connected = false;

  constructor(config: RedisStoreConfig, options: RedisStoreOptions = {}) {
    this.logger = options.logger ?? silentLogger;
    this.healthTimeoutMs = options.healthTimeoutMs ?? 1_000;
    // ioredis' keyPrefix covers keys only, not pub/sub channels: those are prefixed here.
    this.channelPrefix = config.keyPrefix;
    this.channels = new ChannelRegistry(this.logger);

    this.commands = connectRedis(config, 'commands');
    this.commands.defineCommand('gatewayAppendMany', { numberOfKeys: 1, lua: APPEND_MANY_LUA });
    this.subscriber = connectRedis(config, 'subscriber');
    this.reportErrors(this.commands, 'commands');
    this.reportErrors(this.subscriber, 'subscriber');
    this.commands.on('ready', () => this.setConnected(true));
    this.commands.on('close', () => this.setConnected(false));
    this.commands.on('end', () => this.setConnected(false));
    this.subscriber.on('message', (channel: string, message: string) => this.channels.dispatch(channel, message));
    this.subscriber.on('ready', () => this.restoreSubscriptions());
  }

  /** Registered message handlers, including tail wake-ups (leak checks and metrics). */
  get handlerCount(): number {
    return this.channels.handlerCount;
  }

  /** Resolves true once both connections are ready, false if that takes longer than `timeoutMs`. */
  async waitUntilReady(timeoutMs: number): Promise<boolean> {
    const signal = AbortSignal.timeout(timeoutMs);
    const ready = await Promise.all([whenReady(this.commands, signal), whenReady(this.subscriber, signal)]);
    return ready.every(Boolean);
  }

  async get(key: string): Promise<string | null> {
    return guard(() => this.commands.get(key));
  }

  async set(key: string, value: string, options: SetOptions = {}): Promise<boolean> {
    return guard(() => this.setNow(key, value, options));
  }

  private async setNow(key: string, value: string, options: SetOptions): Promise<boolean> {
    const { ttlMs, onlyIfAbsent = false } = options;
    let reply: string | null;
    if (ttlMs === undefined) {
      reply = onlyIfAbsent ? await this.commands.set(key, value, 'NX') : await this.commands.set(key, value);
    } else {
      const px = toPx(ttlMs);
      reply = onlyIfAbsent ? await this.commands.set(key, value, 'PX', px, 'NX') : await this.commands.set(key, value, 'PX', px);
    }
    return reply === 'OK';
  }

  async del(key: string): Promise<void> {
    await guard(() => this.commands.del(key));
  }

  async take(key: string): Promise<string | null> {
    return guard(() => this.commands.getdel(key));
  }

  async incr(key: string, options: { by?: number; ttlMs: number }): Promise<number> {
    // SET NX creates the counter with its TTL; INCRBY never touches the TTL. MULTI makes the pair atomic.
    const transaction = this.commands.multi().set(key, '0', 'PX', toPx(options.ttlMs), 'NX').incrby(key, options.by ?? 1);
    const [, value] = await guard(() => execAll(transaction));
    return Number(value);
  }

  async addExpiring(key: string, member: string, expiresAtMs: number): Promise<void> {
    await guard(() => this.commands.eval(ADD_EXPIRING_LUA, 1, key, expiresAtMs, member));
  }

  async listExpiring(key: string): Promise<Array<{ member: string; expiresAtMs: number }>> {
    const transaction = this.commands
      .multi()
      .zremrangebyscore(key, '-inf', Date.now())
      .zrange(key, '0', '-1', 'WITHSCORES');
    const [, flat] = await guard(() => execAll(transaction));
    const pairs = flat as string[];
    const live: Array<{ member: string; expiresAtMs: number }> = [];
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      live.push({ member: pairs[i]!, expiresAtMs: Number(pairs[i + 1]) });
    }
    return live;
  }

  async publish(channel: string, message: string): Promise<void> {
    await guard(() => this.commands.publish(this.userChannel(channel), message));
  }

  subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>> {
    return this.listen(this.userChannel(channel), handler);
  }

  async append(stream: string, data: string, options: AppendOptions): Promise<string> {
    if (options.id !== undefined) {
      await this.appendMany(stream, [{ id: options.id, data }], options);
      return options.id;
    }
    const entryId = await guard(() => this.appendNext(stream, data, options));
    // The entry is written; a lost wake-up only delays tails until their next poll, so it must not
    // fail the append (a caller retrying it would write a duplicate).
    await this.commands.publish(this.wakeChannel(stream), entryId).catch((error: unknown) => {
      this.logger.warn({ err: error, stream }, 'stream wake-up not published');
    });
    return entryId;
  }

  async appendMany(stream: string, entries: readonly ChosenEntry[], options: Omit<AppendOptions, 'id'>): Promise<void> {
    if (entries.length === 0) return;
    const args: string[] = [];
    for (const entry of entries) {
      parseStreamId(entry.id);
      args.push(entry.id, entry.data);
    }
    const maxLen = options.maxLen === undefined ? '' : String(options.maxLen);
    try {
      await guard(() => this.commands.gatewayAppendMany(stream, toPx(options.ttlMs), maxLen, this.wakeChannel(stream), ...args));
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('CONFLICT')) throw new StreamIdConflictError(stream, entries[0]!.id);
      throw error;
    }
  }

  private async appendNext(stream: string, data: string, options: AppendOptions): Promise<string> {
    const transaction = this.commands.multi();
    if (options.maxLen === undefined) transaction.xadd(stream, '*', DATA_FIELD, data);
    else transaction.xadd(stream, 'MAXLEN', '~', options.maxLen, '*', DATA_FIELD, data);
    transaction.pexpire(stream, toPx(options.ttlMs));
    const [id] = await execAll(transaction);
    return String(id);
  }

  async lastEntryId(stream: string): Promise<string | undefined> {
    const rows = await guard(() => this.commands.xrevrange(stream, '+', '-', 'COUNT', 1));
    return rows[0]?.[0];
  }

  async readAfter(stream: string, afterId: string, count?: number): Promise<StreamEntry[]> {
    parseStreamId(afterId); // same validation and error as the memory store
    const start = `(${afterId}`;
    const rows = await guard(() => (count === undefined ? this.commands.xrange(stream, start, '+') : this.commands.xrange(stream, start, '+', 'COUNT', count)));
    // append writes exactly one field, so its value is always the second element.
    return rows.map(([id, fields]) => ({ id, data: fields[1] ?? '' }));
  }

  tail(stream: string, afterId: string, options: TailOptions): AsyncIterable<StreamEntry> {
    return tailStream(
      {
        read: (after, count) => this.readAfter(stream, after, count),
        listen: (onAppend) => this.listen(this.wakeChannel(stream), onAppend),
      },
      afterId,
      options,
    );
  }

  createRateLimiter(options: RateLimiterOptions): RateLimiterAbstract {
    const limits = { keyPrefix: options.keyPrefix, points: options.points, duration: options.durationSec };
    return new RateLimiterRedis({
      ...limits,
      storeClient: this.commands,
      // Not ready → straight to the local insurance limiter instead of waiting on a dead connection.
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory(limits),
    });
  }

  /**
   * Whether Redis keeps its data across a restart: AOF, RDB snapshots (a `save` schedule), both,
   * neither, or 'unknown' when it will not say (managed services often refuse CONFIG; INFO then
   * tells about AOF only).
   */
  async persistence(): Promise<'aof' | 'rdb' | 'aof+rdb' | 'none' | 'unknown'> {
    const client = this.commands;
    if (!(client instanceof Redis)) return 'unknown'; // a Cluster has one answer per node
    try {
      const [, appendonly] = (await client.config('GET', 'appendonly'));
      const [, save] = (await client.config('GET', 'save'));
      const aof = appendonly === 'yes';
      const rdb = (save ?? '').trim() !== '';
      return aof && rdb ? 'aof+rdb' : aof ? 'aof' : rdb ? 'rdb' : 'none';
    } catch {
      try {
        const info = await client.info('persistence');
        return /^aof_enabled:1/m.test(info) ? 'aof' : 'unknown';
      } catch {
        return 'unknown';
      }
    }
  }

  async health(): Promise<StoreHealth> {
    const started = performance.now();
    try {
      await withTimeout(this.commands.ping(), this.healthTimeoutMs);
      return { ok: true, latencyMs: performance.now() - started };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
  }

  onConnectionChange(listener: (connected: boolean) => void): () => void {
    this.connectionListeners.add(listener);
    return () => {
      this.connectionListeners.delete(listener);
    };
  }

  async close(): Promise<void> {
    // Closing on purpose is not an outage: listeners are not told.
    this.connectionListeners.clear();
    this.channels.clear();
    await Promise.all([closeClient(this.commands), closeClient(this.subscriber)]);
  }

  private userChannel(channel: string): string {
    return `${this.channelPrefix}ch:${channel}`;
  }

  private wakeChannel(stream: string): string {
    return `${this.channelPrefix}wake:${stream}`;
  }

  /** Adds a handler to a (prefixed) channel, subscribing upstream for its first handler only. */
  private async listen(channel: string, handler: MessageHandler): Promise<() => Promise<void>> {
    const own: MessageHandler = (message) => handler(message);
    if (this.channels.add(channel, own)) {
      const pending = this.subscriber.subscribe(channel);
      this.pendingSubscribes.set(channel, pending);
      const settled = (): void => {
        if (this.pendingSubscribes.get(channel) === pending) this.pendingSubscribes.delete(channel);
      };
      pending.then(settled, settled);
    }
    try {
      await guard(async () => this.pendingSubscribes.get(channel));
    } catch (error) {
      this.channels.remove(channel, own);
      throw error;
    }
    let active = true;
    return async () => {
      if (!active) return;
      active = false;
      if (this.channels.remove(channel, own)) await this.unsubscribeUpstream(channel);
    };
  }

  private async unsubscribeUpstream(channel: string): Promise<void> {
    // While disconnected the server has already dropped the subscription, and reconnects only
    // restore channels still in the registry.
    if (this.subscriber.status !== 'ready') return;
    await this.subscriber.unsubscribe(channel).catch((error: unknown) => {
      this.logger.warn({ err: error, channel }, 'unsubscribe failed');
    });
  }

  /**
   * After a reconnect the new connection has no subscriptions: re-subscribe every registered channel,
   * then wake every tail, since appends made while it was away were announced to nobody.
   */
  private restoreSubscriptions(): void {
    const channels = this.channels.names();
    if (channels.length === 0) return;
    const wakePrefix = this.wakeChannel('');
    this.subscriber.subscribe(...channels).then(
      () => {
        for (const channel of channels) if (channel.startsWith(wakePrefix)) this.channels.dispatch(channel, '');
      },
      (error: unknown) => {
        this.logger.warn({ err: error, channels: channels.length }, 'resubscribe after reconnect failed');
      },
    );
  }

  private setConnected(connected: boolean): void {
    if (this.connected === connected) return;
    this.connected = connected;
    for (const listener of this.connectionListeners) listener(connected);
  }

  /**
   * One log line per outage transition and connection: the first error of an outage (ioredis emits
   * one per reconnect attempt) and the return. Requests failing meanwhile are answered 503 without a
   * line each.
   */
  private reportErrors(client: RedisClient, role: ConnectionRole): void {
    let down: number | undefined;
    client.on('error', (error: Error) => {
      if (down !== undefined) return;
      down = Date.now();
      this.logger.warn({ err: { message: error.message }, role }, 'store down: Redis connection lost; reconnecting');
    });
    client.on('ready', () => {
      if (down === undefined) return;
      this.logger.info({ role, downMs: Date.now() - down }, 'store back: Redis connection restored');
      down = undefined;
    });
  }
}

/** Replies Redis gives while it cannot serve (loading its data after a restart, a failover): an outage, not a bug. */
const UNAVAILABLE_REPLY = /^(LOADING|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|BUSY|NOREPLICAS)\b/;

/**
 * Runs one store operation, turning "cannot reach Redis" into StoreUnavailableError. Errors Redis
 * itself replies with (wrong type, bad arguments) are bugs and pass through unchanged.
 */
async function guard<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof StreamIdConflictError) throw error;
    const isReply = error instanceof Error && error.name === 'ReplyError';
    if (isReply && !UNAVAILABLE_REPLY.test(error.message)) throw error;
    throw new StoreUnavailableError(error);
  }
}

/** PX must be a positive integer. */
function toPx(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs));
}

/** Runs a MULTI/pipeline and returns its replies, throwing the first command error. */
async function execAll(commands: ChainableCommander): Promise<unknown[]> {
  const results = await commands.exec();
  if (results === null) throw new Error('Redis transaction aborted');
  return results.map(([error, reply]) => {
    if (error) throw error;
    return reply;
  });
}

function whenReady(client: RedisClient, signal: AbortSignal): Promise<boolean> {
  if (client.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const settle = (ready: boolean): void => {
      client.off('ready', onReady);
      signal.removeEventListener('abort', onAbort);
      resolve(ready);
    };
    const onReady = (): void => settle(true);
    const onAbort = (): void => settle(false);
    client.on('ready', onReady);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function closeClient(client: RedisClient): Promise<void> {
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  await client.quit().catch(() => client.disconnect());
}
